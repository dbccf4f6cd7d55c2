// Decodes the op stream built by lib/batch.ts and builds one nftables netlink batch with
// libnftnl. Runs on the worker thread; touches no JS values. See native/README.md for the
// stream format.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

struct nftnl_batch;

namespace kpb {

// Stream constants (mirrored in lib/batch.ts).
constexpr uint8_t kMagic[4] = {'K', 'P', 'B', 'N'};
constexpr uint16_t kStreamVersion = 1;

enum AttrKind : uint8_t {
  kU8 = 1,
  kU16 = 2,
  kU32 = 3,
  kU64 = 4,
  kStr = 5,
  kBytes = 6,
  kExpr = 7,  // nested expression (expressions only, e.g. dynset)
};

// One netlink message of the batch (index = seq - baseSeq).
struct MsgInfo {
  uint32_t op;         // op index in the stream; UINT32_MAX for batch begin/end
  uint32_t firstElem;  // for element chunks: first element index of the chunk
  uint32_t elemCount;  // for element chunks: number of elements
};

class BuiltBatch {
 public:
  BuiltBatch() = default;
  ~BuiltBatch();
  BuiltBatch(const BuiltBatch&) = delete;
  BuiltBatch& operator=(const BuiltBatch&) = delete;

  nftnl_batch* batch = nullptr;
  uint32_t baseSeq = 0;
  std::vector<MsgInfo> msgs;        // includes begin (first) and end (last)
  std::vector<std::string> labels;  // per op
  size_t bytes = 0;
  uint32_t opCount = 0;

  // Human description of the message with sequence number `seq`.
  std::string LabelForSeq(uint32_t seq) const;
};

// Decodes `data` and fills `out`. Returns false with `error` set on a malformed stream or an
// attribute libnftnl rejects; the message names the byte offset and op. A non-zero `genid`
// binds the batch to that ruleset generation (NFNL_BATCH_GENID in the batch begin): the kernel
// refuses the whole batch with ERESTART when the generation has moved.
bool DecodeAndBuild(const uint8_t* data, size_t len, uint32_t baseSeq, BuiltBatch& out,
                    std::string& error, uint32_t genid = 0);

}  // namespace kpb
