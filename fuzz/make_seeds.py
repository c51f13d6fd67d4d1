#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/<target>/ from published test vectors.

Sources: shared reference/octez-signer.md §11 (tezt accounts, octez key encoding vectors, Signatory's
Tenderbake payloads, the encrypted-key vectors of octez test_encrypted.ml), ledger/doc/protocol.md
(HID framing, Baking app replies), reference/etcd-hwm.md (gateway replies) and the unit tests'
inputs in tests/. Run from anywhere: python3 fuzz/make_seeds.py. Crash reproducers found later are
added by hand as corpus/<target>/regression-*; this script leaves them alone.
"""
import hashlib
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58decode(s):
    n = 0
    for c in s:
        n = n * 58 + B58.index(c)
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * (len(s) - len(s.lstrip("1"))) + body


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


B1 = ("tz1KqTpEZ7Yob7QbPE4Hy4Wo8fHG8LhKxZSx", "edpkuBknW28nW72KG6RoHtYW7p12T6GKc7nAbwYX5m8Wd9sDVC9yav",
      "edsk3gUfUPyBSfrS9CCgmCiQsTCHGkviBDusMxDJstFtojtc1zcpsh")
TZ2 = ("tz2SSuN7FRcAurZPSAQS1swNWE8xxf71MTjt", "sppk7aFpmJLm3ZxMd3F4osvGBq77R1NeSpiJVnof3Wiv4mt84EBE9aX",
       "spsk2oCGdj7yZFmAWr1wqopU512kDtCfWfs7N4FoRH6bkHhgXk5Tu5")
TZ3 = ("tz3ZxowXGSjiVq227GQcwKdz87rKhq62rY4t", "p2pk66Y3178eHvgWFA4CDsgGPhbkWtwrYCVUKJnsAi41eGP7MbHKv24",
       "p2sk2g5Btw8MK7fnhQg9d7DaE8QYX8A89BLWaqWTQcHuATYY3ABjD9")
TZ4 = ("tz4EECtMxAuJ9UDLaiMZH7G1GCFYUWsj8HZn",
       "BLpk1yUiLJ7RezbyViD5ZvWTfQndM3TRRYmvYWkUfH2EJqsLFnzzvpJss6pbuz3U1DDMpk8v16nV",
       "BLsk1hKAHyGqY9qRbgoSVnjiSmDWpKGjFF3WNQ7BaiaMUA6RMA6Pfq")
EDSIG = "edsigu3LFG1nPS2kyVXKmYDZkuaq9hsoGrjH5y3ir7C7ne9GMcFzVztvkaxGQjeqgSoJ43V1QpgwrLQUot3BbuJw3BGy92xurv9"
GENSIG = "sigpKAnfQGzG4Rk5pV7z9mx2TL9veQCHD7qN4PhsUZMj1BqsumBoApBS9Ue616vKVymxrzfZE2L4h27zzxRUVy6BNPRMpufb"
AUTH_ATT = "edsigtpuSrpMewNtxr8gyHz7D5AKTfmKoXtrVDidiEUdQv27YwmMuWKfHnvs1VdVVcNrV4bBuhS5TcNWZBM4KU8rpigprsYgHR3"
ESK = ("edesk1oGXxunJ5FTGpQ6o1xdop8VGKdT36Fj7LwWF9HLjzEqaCC4V6tdRVN1jaeJTfCHS8bYf7U2YhMK2yW6jSUy",
       "spesk2CXQHDbzrcNatRzmg83Dto6kX6BWwpP2zGs4Zks9LDsXzaX6mAYRj5ZrrdgyZQap4DS9YRRLNSpaVC2TSsk",
       "p2esk2JMFpR9yaSpgsaKQYLqFnv16t4gowJ4cgjj7D7iMfoaJz2vZuH7Tdi11MrX6FC2yhfs2nvy5VRxAvzH1STE")
PRE = bytes.fromhex("12ed9d217c2f50673bab6b20dfb0a88ca93b4a0c72a34c807af5dffbece2cba3d2b509835f1400600000000200"
                    "0000041f1ebb39759cc957216f88fb4d005abc206fb00a53f8d57ac01be00c084cba97")
ATT = bytes.fromhex("13ed9d217cfc81eee810737b04018acef4db74d056b79edc43e6be46cae7e4c217c22a82f01500120000518d00"
                    "00000003e7ea1f67dbb0bb6cfa372cb092cd9cf786b4f1b5e5139da95b915fb95e698d")
BLOCK = bytes.fromhex(
    "11ed9d217c0000518e0118425847ac255b6d7c30ce8fec23b8eaf13b741de7d18509ac2ef83c741209630000000061947af504805682ea5d"
    "089837764b3efcc90b91db24294ff9ddb66019f332ccba17cc4741000000210000000102000000040000518e0000000000000004ffffffff"
    "0000000400000000eb1320a71e8bf8b0162a3ec315461e9153a38b70d00d5dde2df85eb92748f8d068d776e356683a9e23c186ccfb72ddc6"
    "c9857bb1704487972922e7c89a7121f800000000a8e1dd3c000000000000")
# The BLS-mode (tz4) attestation of §11 vector 6: tag 0x29, no slot.
ATT_BLS = ATT[:37] + b"\x29" + ATT[40:]


def base58():
    for i, s in enumerate(list(B1) + list(TZ2) + list(TZ3) + list(TZ4) + [EDSIG, GENSIG, "NetXdQprcVkpaWU",
                          "BLockGenesisGenesisGenesisGenesisGenesisf79b5d1CoW2"]):
        write("base58", "valid-%02d" % i, s)
    write("base58", "bad-checksum", B1[0][:-1] + "y")
    write("base58", "bad-alphabet", "tz1KqTpEZ7Yob7QbPE4Hy4Wo8fHG8LhKxZS0")
    write("base58", "leading-ones", "1111tz1")
    write("base58", "pkh-binary", bytes.fromhex("0002298c03ed7d454a101eb7022bc95f7e5f41ac78"))
    write("base58", "edpk-raw", bytes.fromhex("4798d2cc98473d7e250c898885718afd2e4efbcb1a1595ab9730761ed830de0f"))


def watermark():
    for name, p in [("preattestation", PRE), ("attestation", ATT), ("block", BLOCK), ("attestation-bls", ATT_BLS)]:
        write("watermark", name, p)
        write("watermark", name + "-short", p[:len(p) // 2])
    write("watermark", "legacy-block", b"\x01" + ATT[1:5] + struct.pack(">i", 7) + b"\0" * 40)
    write("watermark", "legacy-endorsement", b"\x02" + ATT[1:5] + b"\0" * 32 + b"\x00" + struct.pack(">i", 7))
    write("watermark", "generic", bytes.fromhex("031234"))
    write("watermark", "michelson", bytes.fromhex("05"))


def secret_key():
    for i, (_, _, sk) in enumerate([B1, TZ2, TZ3, TZ4]):
        write("secret_key", "text-%d" % i, b"\0unencrypted:" + sk.encode())
    write("secret_key", "text-bare", b"\0" + B1[2].encode())
    # One key that decrypts (each costs ~2 s of PBKDF2 under ASan); the others stop before it.
    write("secret_key", "text-encrypted", b"\0encrypted:" + ESK[0].encode() + b"\nahThie5H")
    for i, esk in enumerate(ESK):
        write("secret_key", "text-encrypted-nopass-%d" % i, b"\0encrypted:" + esk.encode())
        raw = b58decode(esk)[5:-4]  # 5-byte prefix, 56-byte salt || box, 4-byte checksum
        write("secret_key", "payload-encrypted-nopass-%d" % i, bytes([3, 5 + i]) + raw)
        write("secret_key", "payload-encrypted-unencrypted-scheme-%d" % i, bytes([1, 5 + i]) + raw)
    write("secret_key", "payload-edsk", bytes([1, 0]) + b58decode(B1[2])[4:-4])
    write("secret_key", "payload-edsk-short", bytes([1, 0]) + b58decode(B1[2])[4:-8])
    write("secret_key", "text-wrong-scheme", b"\0ledger://tz1")


def hid_reports(message, channel=0x0101):
    out, seq, pos = b"", 0, 0
    while True:
        head = struct.pack(">HBH", channel, 5, seq)
        if seq == 0:
            head += struct.pack(">H", len(message))
        chunk = message[pos:pos + 64 - len(head)]
        pos += len(chunk)
        out += (head + chunk).ljust(64, b"\0")
        seq += 1
        if pos >= len(message):
            return out


def hid():
    write("hid_reassembly", "version", b"\0" + hid_reports(bytes.fromhex("010205019000")))
    write("hid_reassembly", "signature", b"\0" + hid_reports(bytes(range(64)) + b"\x90\x00"))
    write("hid_reassembly", "bls-signature", b"\0" + hid_reports(bytes(range(96)) + b"\x90\x00"))
    write("hid_reassembly", "sw-only", b"\0" + hid_reports(b"\x69\x85"))
    write("hid_reassembly", "wrong-channel", b"\0" + hid_reports(b"\x90\x00", channel=0x0102))
    two = hid_reports(bytes(100) + b"\x90\x00")
    write("hid_reassembly", "sequence-gap", b"\0" + two[:64] + two[64:67] + b"\x00\x05" + two[69:])
    write("hid_reassembly", "short-report", b"\x01" + bytes([20]) + hid_reports(b"\x90\x00")[:20])
    write("hid_reassembly", "records", b"\x01" + bytes([64]) + hid_reports(bytes(70) + b"\x90\x00")[:64] +
          bytes([64]) + hid_reports(bytes(70) + b"\x90\x00")[64:])


def reply(data, sw=0x9000):
    return bytes([len(data)]) + data + struct.pack(">H", sw)


SECP_G = bytes.fromhex("0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
                       "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8")
P256_G = bytes.fromhex("046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
                       "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5")


def baking_app():
    seeds = {
        "version": b"\x00" + reply(bytes([1, 2, 5, 1])),
        "version-wallet": b"\x00" + reply(bytes([0, 2, 5, 1])),
        "git": b"\x01" + reply(b"50ec8cfc\0"),
        "pubkey-ed25519": b"\x02" + reply(b"\x21\x02" + bytes(range(32))),
        "pubkey-secp256k1": b"\x12" + reply(b"\x41" + SECP_G),
        "pubkey-p256": b"\x22" + reply(b"\x41" + P256_G),
        "pubkey-bls": b"\x42" + reply(b"\x61\x04" + bytes(96)),
        "auth-key": b"\x04" + reply(bytes.fromhex("048000002c800006c18000000080000000")),
        "auth-key-none": b"\x04" + reply(b"\x00"),
        "auth-key-curve": b"\x05" + reply(bytes.fromhex("00048000002c800006c18000000080000000")),
        "auth-key-curve-6a88": b"\x05" + reply(b"", 0x6A88),
        "main-hwm": b"\x06" + reply(struct.pack(">II", 20877, 0)),
        "main-hwm-legacy": b"\x06" + reply(struct.pack(">I", 20877)),
        "all-hwm": b"\x07" + reply(struct.pack(">IIIII", 1, 0, 2, 0, 0x7a06a770)),
        "all-hwm-legacy": b"\x07" + reply(struct.pack(">III", 1, 2, 0x7a06a770)),
        "setup": b"\x08" + reply(b"\x21\x02" + bytes(32)),
        "reset-refused": b"\x09" + reply(b"", 0x6985),
        "sign-ed25519": b"\x0a" + reply(b"") + reply(bytes(range(64))),
        "sign-secp256k1": b"\x1a" + reply(b"") + reply(bytes.fromhex("3106020101020101")),
        "sign-bls": b"\x4a" + reply(b"") + reply(bytes(96)),
        "sign-hwm-refused": b"\x0a" + reply(b"") + reply(b"", 0x6A80),
        "sign-timeout": b"\x0a\xff",
        "sign-with-hash": b"\x0b" + reply(b"") + reply(bytes(32) + bytes(range(64))),
        "hmac": b"\x0c" + reply(bytes(32)),
        "deauthorize": b"\x0d" + reply(b""),
        "decoders": b"\x1e" + bytes([9]) + bytes.fromhex("3106020101020101"),
        "abandon": b"\x0f" + reply(b"", 0x6982),
        "locked": b"\x00" + reply(b"", 0x5515) + b"\x06" + reply(b"", 0x6E00),
    }
    for name, data in seeds.items():
        write("baking_app_reply", name, data)


def apdu(ins, p1=0, p2=0, data=b""):
    a = bytes([0x80, ins, p1, p2, len(data)]) + data
    return struct.pack(">I", len(a)) + a


PATH = bytes.fromhex("048000002c800006c18000000080000000")


def speculos():
    write("speculos_frames", "version", b"\x3f" + apdu(0x00))
    write("speculos_frames", "version-split", b"\x00" + apdu(0x00) + apdu(0x09))
    write("speculos_frames", "get-public-key", b"\x07" + apdu(0x02, 0, 0, PATH) + apdu(0x02, 0, 1, PATH))
    write("speculos_frames", "setup-then-sign", b"\x10" + apdu(0x0A, 0, 0, bytes.fromhex("ed9d217c0000000000000000") + PATH)
          + apdu(0x04, 0x00, 0, PATH) + apdu(0x04, 0x81, 0, ATT) + apdu(0x07))
    write("speculos_frames", "sign-with-hash", b"\x20" + apdu(0x0F, 0x00, 0, PATH) + apdu(0x0F, 0x81, 0, PRE))
    write("speculos_frames", "queries", b"\x05" + apdu(0x08) + apdu(0x0B) + apdu(0x0D) + apdu(0x0C))
    write("speculos_frames", "hmac", b"\x05" + apdu(0x0E, 0, 0, PATH + b"abc"))
    write("speculos_frames", "oversized", b"\x3f" + struct.pack(">I", 0x10001) + b"\x80")
    write("speculos_frames", "empty-frame", b"\x3f" + struct.pack(">I", 0) + apdu(0x00))
    write("speculos_frames", "bad-cla", b"\x3f" + struct.pack(">I", 5) + b"\xe0\x01\x00\x00\x00")


SOFT = '[[key]]\nbackend = "soft"\nsecret_key = "unencrypted:%s"\n' % B1[2]
FULL = """[server]
listen = ["127.0.0.1:6732", "[::1]:6733"]
known_keys = true
io_threads = 3
sign_threads = 8
body_limit = 32768
header_timeout_s = 5
idle_timeout_s = 120

[store]
path = "/srv/pisigner"

[policy]
magic_bytes = ["0x11", "0x12", "0x13", "3"]
chains = ["NetXdQprcVkpaWU"]

[auth]
required = true
authorized_keys = ["edpktzNbDAUjUk697W7gYg2CRuBQjyPxbEg8dLccYYwKSKvkPvjtV9"]

[health]
interval_ms = 500
max_age_ms = 2000

[log]
level = "debug"

[[key]]
backend = "ledger"
device = "tcp://127.0.0.1:9999"
path = "m/44'/1729'/0'/0'"
curve = "ed25519"
pkh = "tz1KqTpEZ7Yob7QbPE4Hy4Wo8fHG8LhKxZSx"
timeout_ms = 1500

[[key]]
backend = "soft"
secret_key = "encrypted:edesk1zxaPJkhNGSzgZ8ZXhbhG7Aufv5P4pmkGjYq2JLw7TbUY2sW6sBsrq7gsqg4SF7xzwRLbRRuJ3rAKeYLD6zNsA"
passphrase_file = "/etc/pisigner/passphrase"
allow_mainnet = true
"""
CLUSTER = """[cluster]
endpoints = ["https://10.8.0.1:2379", "https://10.8.0.2:2379", "https://10.8.0.3:2379"]
ca_file = "/etc/pisigner/etcd/ca.crt"
cert_file = "/etc/pisigner/etcd/client.crt"
key_file = "/etc/pisigner/etcd/client.key"
user = "pisigner-a"
password_file = "/etc/pisigner/etcd/password"
node = "pi-a"
call_timeout_ms = 1000
budget_ms = 2500
"""
HAL = """[ups]
model = "x728"
min_charge_percent = 25
grace_period_s = 60

[uplink]
enabled = true
wired_interface = "eth0"
lte_connection = "lte"
"""


def config():
    write("config", "soft-key", SOFT)
    write("config", "full", FULL)
    write("config", "cluster", CLUSTER + SOFT + 'on_cluster_unavailable = "local"\n')
    write("config", "hal", HAL + SOFT)
    with open(os.path.join(HERE, "..", "packaging", "pisigner.toml")) as f:
        write("config", "packaged-default", f.read())
    write("config", "unknown-key", SOFT + "colour = 1\n")
    write("config", "bad-toml", "[server\nlisten = [\n")
    write("config", "wrong-type", "[server]\nio_threads = \"three\"\n" + SOFT)


H = "ab" * 32


def etcd():
    seeds = {
        "txn-put": '{"header":{"cluster_id":"1","member_id":"18446744073709551615","revision":"4","raft_term":"2"},'
                   '"succeeded":true,"responses":[{"response_put":{"header":{"revision":"4"}}}]}',
        "txn-range": '{"header":{"revision":"4"},"responses":[{"response_range":{"header":{"revision":"4"},'
                     '"kvs":[{"key":"Sw==","create_revision":"2","mod_revision":"4","version":"2","value":"Vg=="}],'
                     '"count":"1"}}]}',
        "txn-gone": '{"header":{"revision":"5"},"responses":[{"response_range":{"header":{"revision":"5"}}}]}',
        "range": '{"header":{"cluster_id":"1","member_id":"2","revision":"7","raft_term":"3"}}',
        "status": '{"header":{"member_id":"5","revision":"7","raft_term":"3"},"version":"3.4.23",'
                  '"db_size":"20480","leader":"5","raft_index":"9","raft_term":"3","errors":["NOSPACE"]}',
        "token": '{"header":{},"token":"UqbIgwgjcGkhSBQr.24"}',
        "error": '{"error":"etcdserver: no leader","message":"etcdserver: no leader","code":14}',
        "record": '{"v":1,"level":123,"round":4,"hash":"%s","sig":"%s","node":"pi-a","ts":1700000000000}' % (H, EDSIG),
        "record-no-round": '{"v":1,"level":1,"hash":"%s","node":"n","ts":0}' % H,
        "record-bad-level": '{"v":1,"level":4294967296,"hash":"%s"}' % H,
        "record-key": "/pisigner/hwm/v1/preattestation/NetXdQprcVkpaWU/" + B1[0],
        "revision-overflow": '{"header":{"revision":"99999999999999999999"},"succeeded":true}',
        "base64": "L3Bpc2lnbmVyL2h3bS8=",
    }
    for name, data in seeds.items():
        write("etcd_wire", name, data)


def router():
    k1, k2, k3 = "/keys/" + B1[0], "/keys/" + TZ2[0], "/keys/" + TZ3[0]
    att, pre, blk = ATT.hex(), PRE.hex(), BLOCK.hex()
    lower = ATT[:40] + struct.pack(">I", 20000) + ATT[44:]
    same_level_other = ATT[:-1] + b"\x00"
    seeds = {
        "sign-attestation": b"\x00POST %s application/json\n\"%s\"\n" % (k1.encode(), att.encode()),
        "sign-three-kinds": b"\x00" + b"".join(b"POST %s application/json\n\"%s\"\n" % (k1.encode(), p.encode())
                                              for p in (blk, pre, att)),
        "resign-then-lower": b"\x00POST %s\n\"%s\"\nPOST %s\n\"%s\"\nPOST %s\n\"%s\"\nPOST %s\n\"%s\"\n" % (
            k1.encode(), att.encode(), k1.encode(), att.encode(), k1.encode(), lower.hex().encode(),
            k1.encode(), same_level_other.hex().encode()),
        "tz2-tz3": b"\x00POST %s\n\"%s\"\nPOST %s\n\"%s\"\n" % (k2.encode(), blk.encode(), k3.encode(), pre.encode()),
        "octet-stream": b"\x00POST %s application/octet-stream\n" % k1.encode() + struct.pack(">I", len(ATT)) + ATT
                        .replace(b"\n", b"\x0b") + b"\n",
        "auth": b"\x01POST %s?authentication=%s application/json\n\"%s\"\n" % (k1.encode(), AUTH_ATT.encode(), att.encode()),
        "auth-missing": b"\x01POST %s\n\"%s\"\n" % (k1.encode(), att.encode()),
        "generic-any-magic": b"\x02POST %s\n\"031234\"\n" % k1.encode(),
        "gets": b"\x00GET %s\n\nGET /authorized_keys\n\nGET /known_keys\n\nGET /authorized\n\nGET /healthz\n\n"
                b"GET /metrics\n\nGET /status\n\n" % k1.encode(),
        "bad-json": b"\x00POST %s application/json\n{\"data\":\"%s\"}\n" % (k1.encode(), att.encode()),
        "bad-query": b"\x00POST %s?version=1&version=2\n\"%s\"\n" % (k1.encode(), att.encode()),
        "percent": b"\x00POST %s?authentication=%%4\n\"13\"\n" % k1.encode(),
        "unknown-key": b"\x00POST /keys/tz1gjaF81ZRRvdzjobyfVNsAeSC6PScjfQwN\n\"%s\"\n" % att.encode(),
        "bad-pkh": b"\x00POST /keys/tz1abc\n\"13\"\nDELETE /keys/x\n\n",
        "media-type": b"\x00POST %s text/plain; charset=utf-8\n\"13\"\n" % k1.encode(),
        # Raw payload lines ('!'): the same kinds at the vectors' levels, for each key.
        "raw-payloads": b"\x00" + b"".join(b"POST %s\n!%s\n" % (k, p) for k in (k1.encode(), k2.encode(), k3.encode())
                                          for p in (PRE, ATT) if b"\n" not in p),
    }
    for name, data in seeds.items():
        write("http_router", name, data)


if __name__ == "__main__":
    base58()
    watermark()
    secret_key()
    hid()
    baking_app()
    speculos()
    config()
    etcd()
    router()
