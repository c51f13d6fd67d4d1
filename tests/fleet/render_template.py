#!/usr/bin/python3
"""Renders one of the roles' Jinja2 templates outside Ansible, for the tests.

usage: render_template.py ROLE_DIR TEMPLATE OUT [VARS.json]

Variables: the role's defaults/main.yml, then VARS.json on top. Undefined variables are errors,
and the Jinja2 settings are Ansible's (trim_blocks), so the output is what Ansible writes.
"""
import json
import pathlib
import sys

import jinja2
import yaml


def main(argv):
    if len(argv) not in (4, 5):
        sys.exit(__doc__)
    role, template, out = pathlib.Path(argv[1]), argv[2], pathlib.Path(argv[3])
    variables = yaml.safe_load((role / "defaults" / "main.yml").read_text()) or {}
    if len(argv) == 5:
        variables.update(json.loads(pathlib.Path(argv[4]).read_text()))
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(role / "templates")),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, keep_trailing_newline=True)
    out.write_text(env.get_template(template).render(**variables))


if __name__ == "__main__":
    main(sys.argv)
