#include "batch_decoder.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <cstring>
#include <memory>

namespace kpb {

namespace {

// Batch pages: every message must fit in the overrun area, so single ops are bounded.
constexpr uint32_t kPageSize = 2u << 20;
constexpr uint32_t kOverrun = 256u << 10;
constexpr size_t kMaxOpBytes = (kOverrun - 8192) / 4;
// Set elements per NEWSETELEM/DELSETELEM message are limited by an estimate of their netlink
// size: the NFTA_SET_ELEM_LIST_ELEMENTS nest has a 16-bit length.
constexpr size_t kElemChunkBytes = 24u << 10;
constexpr uint32_t kElemChunkMax = 512;
constexpr uint32_t kMaxExprDepth = 4;

enum MsgType : uint8_t {
  kNewTable = NFT_MSG_NEWTABLE,
  kDelTable = NFT_MSG_DELTABLE,
  kNewChain = NFT_MSG_NEWCHAIN,
  kDelChain = NFT_MSG_DELCHAIN,
  kNewRule = NFT_MSG_NEWRULE,
  kDelRule = NFT_MSG_DELRULE,
  kNewSet = NFT_MSG_NEWSET,
  kDelSet = NFT_MSG_DELSET,
  kNewSetElem = NFT_MSG_NEWSETELEM,
  kDelSetElem = NFT_MSG_DELSETELEM,
  // Kernel 6.3+: delete without ENOENT (not in older uapi headers).
  kDestroyTable = 26,
  kDestroyChain = 27,
  kDestroyRule = 28,
  kDestroySet = 29,
  kDestroySetElem = 30,
};

enum class Obj { Table, Chain, Rule, Set, SetElem };

bool ObjForType(uint8_t t, Obj& o) {
  switch (t) {
    case kNewTable: case kDelTable: case kDestroyTable: o = Obj::Table; return true;
    case kNewChain: case kDelChain: case kDestroyChain: o = Obj::Chain; return true;
    case kNewRule: case kDelRule: case kDestroyRule: o = Obj::Rule; return true;
    case kNewSet: case kDelSet: case kDestroySet: o = Obj::Set; return true;
    case kNewSetElem: case kDelSetElem: case kDestroySetElem: o = Obj::SetElem; return true;
    default: return false;
  }
}

// Expected kind per object attribute (0 = not supported through the stream). libnftnl aborts
// the process on unknown attributes or wrong fixed sizes, so everything is checked here first.
const uint8_t kTableKinds[] = {kStr, kU32, kU32, kU32, kU64, kBytes, kU32};
const uint8_t kChainKinds[] = {kStr, kU32, kStr, kU32, kU32, kU32, kU32, kU64,
                               kU64, kU64, kStr, kStr, 0,    kU32, kU32, kBytes};
const uint8_t kRuleKinds[] = {kU32, kStr, kStr, kU64, kU32, kU32, kU64, kBytes, kU32, kU32};
const uint8_t kSetKinds[] = {kStr, kStr, kU32, kU32, kU32, kU32, kU32, kU32, kU32, kU32,
                             kU32, kU64, kU32, kBytes, kU32, kU64, kBytes, 0, 0};
const uint8_t kElemKinds[] = {kU32, kBytes, kU32, kStr, kBytes, kU64, kU64, kBytes, 0, kStr,
                              kBytes, 0};
static_assert(sizeof kTableKinds == NFTNL_TABLE_MAX + 1, "table attrs");
static_assert(sizeof kChainKinds == NFTNL_CHAIN_MAX + 1, "chain attrs");
static_assert(sizeof kRuleKinds == NFTNL_RULE_MAX + 1, "rule attrs");
static_assert(sizeof kSetKinds == NFTNL_SET_MAX + 1, "set attrs");
static_assert(sizeof kElemKinds == NFTNL_SET_ELEM_MAX + 1, "elem attrs");

const char* KindName(uint8_t k) {
  switch (k) {
    case kU8: return "u8";
    case kU16: return "u16";
    case kU32: return "u32";
    case kU64: return "u64";
    case kStr: return "str";
    case kBytes: return "bytes";
    case kExpr: return "expr";
    default: return "?";
  }
}

const char* ObjName(Obj o) {
  switch (o) {
    case Obj::Table: return "table";
    case Obj::Chain: return "chain";
    case Obj::Rule: return "rule";
    case Obj::Set: return "set";
    case Obj::SetElem: return "set element";
  }
  return "?";
}

struct DecodeError {
  std::string message;
};

struct Value {
  uint8_t kind = 0;
  uint64_t num = 0;          // u8..u64, zero-extended (libnftnl reads sizeof(field) bytes)
  const uint8_t* ptr = nullptr;  // str (NUL-terminated) or bytes
  uint32_t len = 0;          // bytes: length; str: strlen + 1
};

class Reader {
 public:
  Reader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  size_t pos() const { return pos_; }
  bool done() const { return pos_ == n_; }

  [[noreturn]] void Fail(const std::string& what) const {
    throw DecodeError{what + " at byte " + std::to_string(pos_)};
  }
  void Need(size_t k) const {
    if (n_ - pos_ < k) Fail("truncated stream (need " + std::to_string(k) + " bytes)");
  }
  uint8_t U8() {
    Need(1);
    return p_[pos_++];
  }
  uint16_t U16() {
    Need(2);
    uint16_t v;
    std::memcpy(&v, p_ + pos_, 2);
    pos_ += 2;
    return v;
  }
  uint32_t U32() {
    Need(4);
    uint32_t v;
    std::memcpy(&v, p_ + pos_, 4);
    pos_ += 4;
    return v;
  }
  uint64_t U64() {
    Need(8);
    uint64_t v;
    std::memcpy(&v, p_ + pos_, 8);
    pos_ += 8;
    return v;
  }
  // u16 length, bytes, NUL. Returns a pointer into the (copied) stream.
  const char* Str(uint32_t* lenOut = nullptr) {
    uint16_t l = U16();
    Need(size_t(l) + 1);
    const char* s = reinterpret_cast<const char*>(p_ + pos_);
    if (p_[pos_ + l] != 0) Fail("string not NUL-terminated");
    if (std::memchr(s, 0, l) != nullptr) Fail("string contains NUL");
    pos_ += size_t(l) + 1;
    if (lenOut) *lenOut = l + 1u;
    return s;
  }
  const uint8_t* Bytes(uint32_t& len) {
    len = U32();
    Need(len);
    const uint8_t* b = p_ + pos_;
    pos_ += len;
    return b;
  }
  void Skip(size_t k) {
    Need(k);
    pos_ += k;
  }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
};

Value ReadScalarValue(Reader& r, uint8_t kind) {
  Value v;
  v.kind = kind;
  switch (kind) {
    case kU8: v.num = r.U8(); v.len = 1; break;
    case kU16: v.num = r.U16(); v.len = 2; break;
    case kU32: v.num = r.U32(); v.len = 4; break;
    case kU64: v.num = r.U64(); v.len = 8; break;
    case kStr: v.ptr = reinterpret_cast<const uint8_t*>(r.Str(&v.len)); break;
    case kBytes: v.ptr = r.Bytes(v.len); break;
    default: r.Fail(std::string("unknown attribute kind ") + std::to_string(kind));
  }
  return v;
}

const void* DataOf(const Value& v) { return v.ptr ? static_cast<const void*>(v.ptr) : &v.num; }

// Reads an attribute list for a libnftnl object and applies it with `set`.
template <typename SetFn>
void ReadObjAttrs(Reader& r, Obj obj, const uint8_t* kinds, size_t nkinds, SetFn set) {
  uint8_t count = r.U8();
  for (uint8_t i = 0; i < count; i++) {
    uint16_t id = r.U16();
    uint8_t kind = r.U8();
    if (id >= nkinds || kinds[id] == 0)
      r.Fail(std::string(ObjName(obj)) + " attribute " + std::to_string(id) +
             " is not supported");
    if (kinds[id] != kind)
      r.Fail(std::string(ObjName(obj)) + " attribute " + std::to_string(id) + " must be " +
             KindName(kinds[id]) + ", got " + KindName(kind));
    Value v = ReadScalarValue(r, kind);
    if (kind == kBytes && v.len == 0)
      r.Fail(std::string(ObjName(obj)) + " attribute " + std::to_string(id) + " is empty");
    if (obj == Obj::SetElem && (id == NFTNL_SET_ELEM_KEY || id == NFTNL_SET_ELEM_KEY_END ||
                                id == NFTNL_SET_ELEM_DATA) && v.len > NFT_DATA_VALUE_MAXLEN)
      r.Fail("set element key/data longer than " + std::to_string(NFT_DATA_VALUE_MAXLEN));
    if (obj == Obj::Set && id == NFTNL_SET_DESC_CONCAT && v.len > NFT_REG32_COUNT)
      r.Fail("set concat description has more than " + std::to_string(NFT_REG32_COUNT) +
             " fields");
    if (set(id, v) < 0)
      r.Fail(std::string(ObjName(obj)) + " attribute " + std::to_string(id) +
             " rejected by libnftnl");
  }
}

struct ExprDeleter {
  void operator()(nftnl_expr* e) const { nftnl_expr_free(e); }
};
using ExprPtr = std::unique_ptr<nftnl_expr, ExprDeleter>;

ExprPtr ReadExpr(Reader& r, uint32_t depth) {
  if (depth > kMaxExprDepth) r.Fail("expressions nested too deeply");
  const char* name = r.Str();
  ExprPtr e(nftnl_expr_alloc(name));
  if (!e) r.Fail(std::string("unknown expression '") + name + "'");
  uint8_t count = r.U8();
  for (uint8_t i = 0; i < count; i++) {
    uint16_t id = r.U16();
    uint8_t kind = r.U8();
    if (id == NFTNL_EXPR_NAME || id >= 32)
      r.Fail(std::string("expression ") + name + ": invalid attribute id " + std::to_string(id));
    if (kind == kExpr) {
      ExprPtr sub = ReadExpr(r, depth + 1);
      nftnl_expr_add_expr(e.get(), id, sub.release());
      continue;
    }
    Value v = ReadScalarValue(r, kind);
    if (kind == kBytes && (v.len == 0 || v.len > NFT_DATA_VALUE_MAXLEN))
      r.Fail(std::string("expression ") + name + ": attribute " + std::to_string(id) +
             " must have 1.." + std::to_string(NFT_DATA_VALUE_MAXLEN) + " bytes");
    if (nftnl_expr_set(e.get(), id, DataOf(v), v.len) < 0)
      r.Fail(std::string("expression ") + name + ": attribute " + std::to_string(id) +
             " rejected by libnftnl");
  }
  return e;
}

struct TableDel { void operator()(nftnl_table* p) const { nftnl_table_free(p); } };
struct ChainDel { void operator()(nftnl_chain* p) const { nftnl_chain_free(p); } };
struct RuleDel { void operator()(nftnl_rule* p) const { nftnl_rule_free(p); } };
struct SetDel { void operator()(nftnl_set* p) const { nftnl_set_free(p); } };
struct ElemDel { void operator()(nftnl_set_elem* p) const { nftnl_set_elem_free(p); } };

size_t Align4(size_t n) { return (n + 3) & ~size_t(3); }

// Reads an object's attribute list into a fresh libnftnl object (freed by `Del`).
template <typename T, typename Del>
std::unique_ptr<T, Del> ReadObject(Reader& r, Obj obj, const uint8_t* kinds, size_t nkinds,
                                   T* (*alloc)(),
                                   int (*setData)(T*, uint16_t, const void*, uint32_t)) {
  std::unique_ptr<T, Del> o(alloc());
  if (!o) r.Fail("out of memory");
  ReadObjAttrs(r, obj, kinds, nkinds,
               [&](uint16_t id, const Value& v) { return setData(o.get(), id, DataOf(v), v.len); });
  return o;
}

using SetPtr = std::unique_ptr<nftnl_set, SetDel>;

SetPtr ReadSet(Reader& r) {
  return ReadObject<nftnl_set, SetDel>(r, Obj::Set, kSetKinds, sizeof kSetKinds, nftnl_set_alloc,
                                       nftnl_set_set_data);
}

// The header of one op: what every message built for it carries.
struct OpHeader {
  uint32_t index;
  uint8_t type;
  uint8_t family;
  uint16_t flags;  // without NLM_F_ACK / NLM_F_REQUEST
  bool last;       // the last op of the stream: its last message asks for an ack
};

// Appends messages to the batch and records, per message, which op (and elements) it holds.
class BatchWriter {
 public:
  BatchWriter(BuiltBatch& out, uint32_t seq) : out_(out), seq_(seq) {}

  // BATCH_BEGIN / BATCH_END. Both carry NLM_F_ACK: kernels >= 6.10 acknowledge them, and the END
  // ack is sent only after a successful commit. The last object message also asks for an ack,
  // which covers older kernels.
  void Begin(uint32_t genid) {
    nlmsghdr* nlh = nftnl_batch_begin(Buffer(), seq_++);
    if (genid) mnl_attr_put_u32(nlh, NFNL_BATCH_GENID, htonl(genid));
    Control(nlh);
  }
  void End() { Control(nftnl_batch_end(Buffer(), seq_++)); }

  nlmsghdr* Header(const OpHeader& op, bool lastMessage) {
    uint16_t f = op.flags | (op.last && lastMessage ? NLM_F_ACK : 0);
    return nftnl_nlmsg_build_hdr(Buffer(), op.type, op.family, f, seq_);
  }

  void Commit(const OpHeader& op, uint32_t firstElem = 0, uint32_t elemCount = 0) {
    nftnl_batch_update(out_.batch);
    out_.msgs.push_back({op.index, firstElem, elemCount});
    seq_++;
  }

 private:
  char* Buffer() { return static_cast<char*>(nftnl_batch_buffer(out_.batch)); }
  void Control(nlmsghdr* nlh) {
    nlh->nlmsg_flags |= NLM_F_ACK;
    nftnl_batch_update(out_.batch);
    out_.msgs.push_back({UINT32_MAX, 0, 0});
  }

  BuiltBatch& out_;
  uint32_t seq_;
};

void BuildTable(Reader& r, BatchWriter& w, const OpHeader& op) {
  auto t = ReadObject<nftnl_table, TableDel>(r, Obj::Table, kTableKinds, sizeof kTableKinds,
                                             nftnl_table_alloc, nftnl_table_set_data);
  nftnl_table_nlmsg_build_payload(w.Header(op, true), t.get());
  w.Commit(op);
}

void BuildChain(Reader& r, BatchWriter& w, const OpHeader& op) {
  auto c = ReadObject<nftnl_chain, ChainDel>(r, Obj::Chain, kChainKinds, sizeof kChainKinds,
                                             nftnl_chain_alloc, nftnl_chain_set_data);
  nftnl_chain_nlmsg_build_payload(w.Header(op, true), c.get());
  w.Commit(op);
}

void BuildRule(Reader& r, BatchWriter& w, const OpHeader& op) {
  auto ru = ReadObject<nftnl_rule, RuleDel>(r, Obj::Rule, kRuleKinds, sizeof kRuleKinds,
                                            nftnl_rule_alloc, nftnl_rule_set_data);
  uint16_t nexpr = r.U16();
  for (uint16_t i = 0; i < nexpr; i++) nftnl_rule_add_expr(ru.get(), ReadExpr(r, 0).release());
  nftnl_rule_nlmsg_build_payload(w.Header(op, true), ru.get());
  w.Commit(op);
}

void BuildSet(Reader& r, BatchWriter& w, const OpHeader& op) {
  SetPtr s = ReadSet(r);
  nftnl_set_nlmsg_build_payload(w.Header(op, true), s.get());
  w.Commit(op);
}

// Set elements, in as many messages as their size needs. The set identification (table, name,
// id) is read again from the stream for a fresh set per message.
void BuildSetElems(const uint8_t* data, Reader& r, BatchWriter& w, const OpHeader& op) {
  size_t setAttrsPos = r.pos();
  SetPtr s = ReadSet(r);
  size_t setAttrsEnd = r.pos();
  if (setAttrsEnd - setAttrsPos > 4096) r.Fail("set element op: set attributes too large");
  uint32_t nelem = r.U32();
  uint32_t chunkFirst = 0, chunkCount = 0;
  size_t chunkBytes = 0;
  auto flush = [&](bool lastChunk) {
    nftnl_set_elems_nlmsg_build_payload(w.Header(op, lastChunk), s.get());
    w.Commit(op, chunkFirst, chunkCount);
    Reader again(data + setAttrsPos, setAttrsEnd - setAttrsPos);
    s = ReadSet(again);
    chunkFirst += chunkCount;
    chunkCount = 0;
    chunkBytes = 0;
  };
  for (uint32_t i = 0; i < nelem; i++) {
    std::unique_ptr<nftnl_set_elem, ElemDel> e(nftnl_set_elem_alloc());
    if (!e) r.Fail("out of memory");
    size_t est = 16;
    ReadObjAttrs(r, Obj::SetElem, kElemKinds, sizeof kElemKinds, [&](uint16_t id, const Value& v) {
      est += 12 + Align4(v.len);
      return nftnl_set_elem_set(e.get(), id, DataOf(v), v.len);
    });
    if (chunkCount > 0 && (chunkBytes + est > kElemChunkBytes || chunkCount >= kElemChunkMax))
      flush(false);
    nftnl_set_elem_add(s.get(), e.release());
    chunkCount++;
    chunkBytes += est;
  }
  // No elements: one message without any (for DELSETELEM this flushes the set).
  flush(true);
}

// One op: its header, label (recorded in `out`, and in `label` for errors) and object.
void BuildOp(const uint8_t* data, Reader& r, BatchWriter& w, BuiltBatch& out, uint32_t index,
             const char*& label) {
  OpHeader op{index, r.U8(), r.U8(), r.U16(), index + 1 == out.opCount};
  uint32_t opBytes = r.U32();
  size_t opStart = r.pos();
  r.Need(opBytes);
  label = r.Str();
  out.labels.emplace_back(label);
  op.flags &= ~uint16_t(NLM_F_ACK | NLM_F_REQUEST);
  Obj obj;
  if (!ObjForType(op.type, obj)) r.Fail("unsupported message type " + std::to_string(op.type));
  if (obj != Obj::SetElem && opBytes > kMaxOpBytes)
    r.Fail("op too large (" + std::to_string(opBytes) + " bytes)");
  switch (obj) {
    case Obj::Table: BuildTable(r, w, op); break;
    case Obj::Chain: BuildChain(r, w, op); break;
    case Obj::Rule: BuildRule(r, w, op); break;
    case Obj::Set: BuildSet(r, w, op); break;
    case Obj::SetElem: BuildSetElems(data, r, w, op); break;
  }
  if (r.pos() - opStart != opBytes)
    r.Fail("op length mismatch (header says " + std::to_string(opBytes) + ", decoded " +
           std::to_string(r.pos() - opStart) + ")");
}

// The stream header: magic, version, op count.
uint32_t ReadStreamHeader(const uint8_t* data, Reader& r) {
  r.Need(12);
  if (std::memcmp(data, kMagic, 4) != 0) r.Fail("bad magic (not a kpb op stream)");
  r.Skip(4);
  uint16_t version = r.U16();
  if (version != kStreamVersion) r.Fail("unsupported stream version " + std::to_string(version));
  r.U16();
  return r.U32();
}

// Bytes of the whole batch: nftnl_batch_buffer_len covers only the current page, so the iovecs
// are summed.
size_t BatchBytes(nftnl_batch* b) {
  int n = nftnl_batch_iovec_len(b);
  std::vector<iovec> iov(n);
  nftnl_batch_iovec(b, iov.data(), n);
  size_t bytes = 0;
  for (auto& v : iov) bytes += v.iov_len;
  return bytes;
}

}  // namespace

BuiltBatch::~BuiltBatch() {
  if (batch) nftnl_batch_free(batch);
}

std::string BuiltBatch::LabelForSeq(uint32_t seq) const {
  uint32_t idx = seq - baseSeq;
  if (idx >= msgs.size()) return "unknown message (seq " + std::to_string(seq) + ")";
  const MsgInfo& m = msgs[idx];
  if (m.op == UINT32_MAX) return idx == 0 ? "batch begin/commit" : "batch end";
  std::string l = m.op < labels.size() ? labels[m.op] : "op " + std::to_string(m.op);
  if (l.empty()) l = "op " + std::to_string(m.op);
  if (m.elemCount)
    l += " (elements " + std::to_string(m.firstElem) + ".." +
         std::to_string(m.firstElem + m.elemCount - 1) + ")";
  return l;
}

bool DecodeAndBuild(const uint8_t* data, size_t len, uint32_t baseSeq, BuiltBatch& out,
                    std::string& error, uint32_t genid) {
  Reader r(data, len);
  uint32_t opIndex = 0;
  const char* label = nullptr;
  try {
    out.opCount = ReadStreamHeader(data, r);
    out.baseSeq = baseSeq;
    out.labels.reserve(out.opCount);
    out.msgs.reserve(size_t(out.opCount) + 2);
    out.batch = nftnl_batch_alloc(kPageSize, kOverrun);
    if (!out.batch) r.Fail("out of memory");
    BatchWriter w(out, baseSeq);
    w.Begin(genid);
    for (opIndex = 0; opIndex < out.opCount; opIndex++) {
      label = nullptr;
      BuildOp(data, r, w, out, opIndex, label);
    }
    if (!r.done()) r.Fail("trailing bytes after " + std::to_string(out.opCount) + " ops");
    w.End();
    out.bytes = BatchBytes(out.batch);
    return true;
  } catch (const DecodeError& e) {
    error = "malformed op stream: " + e.message + ", op " + std::to_string(opIndex);
    if (label) error += std::string(" (") + label + ")";
    return false;
  }
}

}  // namespace kpb
