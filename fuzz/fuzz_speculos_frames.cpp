// The virtual Ledger's APDU socket (ledger/emulator): the Speculos request stream `u32 BE len || APDU`
// cut into reads of fuzzed sizes, each APDU handled by the Baking app model.
// Input: byte 0 sets the read size (1..64 bytes); the rest is the stream.
// Properties: nothing crashes; the reader returns exactly the frames sent, in order, with every byte
// accounted for; every APDU gets a status word and a reply a Speculos client can frame.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "fuzz_check.hpp"
#include "pisigner/ledger/emulator/app_model.hpp"
#include "pisigner/ledger/emulator/frame_reader.hpp"

using namespace pisigner;
using namespace pisigner::ledger::emulator;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static const Keyring keys = Keyring::from_mnemonic(kTestMnemonic);
  BakingAppModel model(keys, AppState{});
  FrameReader reader;
  const std::size_t step = (data[0] % 64) + 1;
  std::size_t fed = 0, framed = 0, frames = 0;
  for (std::size_t i = 1; i < size && !reader.broken(); i += step) {
    const std::size_t n = std::min(step, size - i);
    reader.feed(ByteView(data + i, n));
    fed += n;
    while (auto apdu = reader.next()) {
      FUZZ_CHECK(apdu->size() <= kMaxSpeculosFrame);
      // The frame is the bytes right after its length, where the stream says.
      FUZZ_CHECK(std::equal(apdu->begin(), apdu->end(), data + 1 + framed + 4));
      framed += 4 + apdu->size();
      if (++frames > 64) return 0;  // enough APDUs for one input; keeps runs fast
      const ApduResponse r = model.handle(*apdu);
      FUZZ_CHECK(r.sw != 0);
      FUZZ_CHECK(r.message().size() == r.data.size() + 2);
    }
    if (!reader.broken()) FUZZ_CHECK(framed + reader.buffered() == fed);
  }
  return 0;
}
