#include "list_ruleset.h"

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <charconv>
#include <map>
#include <thread>
#include <unordered_set>
#include <vector>

#include "common.h"
#include "get_generation.h"
#include "js_util.h"
#include "netlink_query.h"

namespace kpb {

namespace {

constexpr int kMaxAttempts = 5;

// How JS names and decodes an attribute (native/lib/constants.ts EXPR): numbers, strings, hex.
enum class AttrKind { kUnsigned, kSigned, kStr, kHex };
struct AttrSpec {
  std::string name;
  AttrKind kind;
};
// An expression's attributes by id (WriteExpr reads ids below kMaxAttr).
constexpr uint16_t kMaxAttr = 32;
struct ExprAttrs {
  AttrSpec byId[kMaxAttr];
  bool known[kMaxAttr] = {};
};
using ExprSchema = std::map<std::string, ExprAttrs>;
struct ChainOut {
  std::string name, type, userdata;
  uint64_t handle = 0;
  bool base = false, hasPolicy = false;
  uint32_t hook = 0, policy = 0, use = 0, flags = 0;
  int32_t prio = 0;
  std::string rules;  // the JSON of its rules, comma-separated, written as they are read
};
struct ElemOut {
  std::string key, keyEnd, data, chain, userdata;
  bool hasVerdict = false;
  int32_t verdict = 0;
  uint64_t timeout = 0, expiration = 0;
  uint32_t flags = 0;
};
struct SetOut {
  std::string name, userdata;
  uint64_t handle = 0, timeout = 0;
  uint32_t flags = 0, keyType = 0, keyLen = 0, dataType = 0, dataLen = 0, gcInterval = 0,
           policy = 0, descSize = 0;
  bool hasData = false, elementsSkipped = false;
  std::vector<uint32_t> concat;
  std::vector<ElemOut> elements;
};
struct ListOptions {
  bool ruleText = true;         // libnftnl's rendering of each rule
  bool dynamicElements = true;  // the elements of sets the data path fills (NFT_SET_EVAL)
};

// Where the listing's time went (reported as `stats`).
struct ListStats {
  Query::Stats query;
  uint32_t attempts = 0, elementRedumps = 0;
  double readMs = 0, jsonMs = 0;
};
struct Listing {
  bool exists = false;
  uint64_t tableHandle = 0;
  uint32_t tableFlags = 0, tableUse = 0, generation = 0;
  std::vector<ChainOut> chains;
  std::vector<SetOut> sets;
  ListStats stats;
};

std::string S(const char* p) { return p ? std::string(p) : std::string(); }

template <typename Get>
std::string HexAttr(Get get) {
  uint32_t len = 0;
  const void* p = get(&len);
  return p ? ToHex(p, len) : std::string();
}

// The schema of each expression name, found once per name: libnftnl hands out the name of its
// expression type (one string per type), so a short list keyed by that pointer finds it again.
class ExprNames {
 public:
  explicit ExprNames(const ExprSchema* schema) : schema_(schema) {}
  const ExprAttrs* Find(const char* name) {
    for (const auto& [p, attrs] : seen_)
      if (p == name) return attrs;
    auto it = schema_->find(name);
    const ExprAttrs* attrs = it == schema_->end() ? nullptr : &it->second;
    if (seen_.size() < 64) seen_.emplace_back(name, attrs);
    return attrs;
  }

 private:
  const ExprSchema* schema_;
  std::vector<std::pair<const char*, const ExprAttrs*>> seen_;
};

struct Ctx {
  std::string table;
  ExprNames* names;
  bool ruleText;  // libnftnl's rendering of each rule (most of the listing's size) wanted
  Listing* out;
  std::string* rules;  // the JSON of the chain being read's rules, comma-separated
};

int TableCb(const nlmsghdr* nlh, void* data) {
  auto* c = static_cast<Ctx*>(data);
  nftnl_table* t = nftnl_table_alloc();
  if (nftnl_table_nlmsg_parse(nlh, t) == 0) {
    c->out->exists = true;
    c->out->tableHandle = (nftnl_table_is_set(t, NFTNL_TABLE_HANDLE) ? nftnl_table_get_u64(t, NFTNL_TABLE_HANDLE) : 0);
    c->out->tableFlags = (nftnl_table_is_set(t, NFTNL_TABLE_FLAGS) ? nftnl_table_get_u32(t, NFTNL_TABLE_FLAGS) : 0);
    c->out->tableUse = (nftnl_table_is_set(t, NFTNL_TABLE_USE) ? nftnl_table_get_u32(t, NFTNL_TABLE_USE) : 0);
  }
  nftnl_table_free(t);
  return MNL_CB_OK;
}

int ChainCb(const nlmsghdr* nlh, void* data) {
  auto* c = static_cast<Ctx*>(data);
  nftnl_chain* ch = nftnl_chain_alloc();
  if (nftnl_chain_nlmsg_parse(nlh, ch) == 0 && c->table == S(nftnl_chain_get_str(ch, NFTNL_CHAIN_TABLE))) {
    ChainOut o;
    o.name = S(nftnl_chain_get_str(ch, NFTNL_CHAIN_NAME));
    o.handle = (nftnl_chain_is_set(ch, NFTNL_CHAIN_HANDLE) ? nftnl_chain_get_u64(ch, NFTNL_CHAIN_HANDLE) : 0);
    o.use = (nftnl_chain_is_set(ch, NFTNL_CHAIN_USE) ? nftnl_chain_get_u32(ch, NFTNL_CHAIN_USE) : 0);
    o.flags = (nftnl_chain_is_set(ch, NFTNL_CHAIN_FLAGS) ? nftnl_chain_get_u32(ch, NFTNL_CHAIN_FLAGS) : 0);
    if (nftnl_chain_is_set(ch, NFTNL_CHAIN_HOOKNUM)) {
      o.base = true;
      o.hook = (nftnl_chain_is_set(ch, NFTNL_CHAIN_HOOKNUM) ? nftnl_chain_get_u32(ch, NFTNL_CHAIN_HOOKNUM) : 0);
      o.prio = (nftnl_chain_is_set(ch, NFTNL_CHAIN_PRIO) ? nftnl_chain_get_s32(ch, NFTNL_CHAIN_PRIO) : 0);
      if (nftnl_chain_is_set(ch, NFTNL_CHAIN_TYPE)) o.type = S(nftnl_chain_get_str(ch, NFTNL_CHAIN_TYPE));
    }
    if (nftnl_chain_is_set(ch, NFTNL_CHAIN_POLICY)) {
      o.hasPolicy = true;
      o.policy = (nftnl_chain_is_set(ch, NFTNL_CHAIN_POLICY) ? nftnl_chain_get_u32(ch, NFTNL_CHAIN_POLICY) : 0);
    }
    o.userdata = HexAttr([&](uint32_t* l) { return nftnl_chain_get_data(ch, NFTNL_CHAIN_USERDATA, l); });
    c->out->chains.push_back(std::move(o));
  }
  nftnl_chain_free(ch);
  return MNL_CB_OK;
}

int SetCb(const nlmsghdr* nlh, void* data) {
  auto* c = static_cast<Ctx*>(data);
  nftnl_set* s = nftnl_set_alloc();
  if (nftnl_set_nlmsg_parse(nlh, s) == 0 && c->table == S(nftnl_set_get_str(s, NFTNL_SET_TABLE))) {
    SetOut o;
    o.name = S(nftnl_set_get_str(s, NFTNL_SET_NAME));
    o.handle = (nftnl_set_is_set(s, NFTNL_SET_HANDLE) ? nftnl_set_get_u64(s, NFTNL_SET_HANDLE) : 0);
    o.flags = (nftnl_set_is_set(s, NFTNL_SET_FLAGS) ? nftnl_set_get_u32(s, NFTNL_SET_FLAGS) : 0);
    o.keyType = (nftnl_set_is_set(s, NFTNL_SET_KEY_TYPE) ? nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE) : 0);
    o.keyLen = (nftnl_set_is_set(s, NFTNL_SET_KEY_LEN) ? nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN) : 0);
    if (nftnl_set_is_set(s, NFTNL_SET_DATA_TYPE)) {
      o.hasData = true;
      o.dataType = (nftnl_set_is_set(s, NFTNL_SET_DATA_TYPE) ? nftnl_set_get_u32(s, NFTNL_SET_DATA_TYPE) : 0);
      o.dataLen = (nftnl_set_is_set(s, NFTNL_SET_DATA_LEN) ? nftnl_set_get_u32(s, NFTNL_SET_DATA_LEN) : 0);
    }
    o.timeout = (nftnl_set_is_set(s, NFTNL_SET_TIMEOUT) ? nftnl_set_get_u64(s, NFTNL_SET_TIMEOUT) : 0);
    o.gcInterval = (nftnl_set_is_set(s, NFTNL_SET_GC_INTERVAL) ? nftnl_set_get_u32(s, NFTNL_SET_GC_INTERVAL) : 0);
    o.policy = (nftnl_set_is_set(s, NFTNL_SET_POLICY) ? nftnl_set_get_u32(s, NFTNL_SET_POLICY) : 0);
    o.descSize = (nftnl_set_is_set(s, NFTNL_SET_DESC_SIZE) ? nftnl_set_get_u32(s, NFTNL_SET_DESC_SIZE) : 0);
    uint32_t clen = 0;
    const auto* cc = static_cast<const uint8_t*>(nftnl_set_get_data(s, NFTNL_SET_DESC_CONCAT, &clen));
    for (uint32_t i = 0; cc && i < clen && cc[i]; i++) o.concat.push_back(cc[i]);
    o.userdata = HexAttr([&](uint32_t* l) { return nftnl_set_get_data(s, NFTNL_SET_USERDATA, l); });
    c->out->sets.push_back(std::move(o));
  }
  nftnl_set_free(s);
  return MNL_CB_OK;
}

int ElemCb(const nlmsghdr* nlh, void* data) {
  nftnl_set_elems_nlmsg_parse(nlh, static_cast<nftnl_set*>(data));
  return MNL_CB_OK;
}

void AppendJsonString(std::string& out, const char* p, size_t n);

// The listing as JSON text, written on the worker thread: one JSON.parse on the main thread
// builds the objects several times faster than an N-API call per property (10k services:
// ~2M objects and ~5M properties).
class Json {
 public:
  std::string& text() { return out_; }
  // The separator before the next value of an array or object.
  void Next() {
    if (!first_) out_ += ',';
    first_ = false;
  }
  void Open(char c) {
    out_ += c;
    first_ = true;
  }
  void Close(char c) {
    out_ += c;
    first_ = false;
  }
  void Key(const char* k) {
    Next();
    out_ += '"';
    out_ += k;
    out_ += "\":";
  }
  void Str(const std::string& v) { AppendJsonString(out_, v.data(), v.size()); }
  template <typename N>
  void Num(N v) {
    char buf[24];
    out_.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
  }
  void Field(const char* k, const std::string& v) { Key(k), Str(v); }
  template <typename N>
  void Field(const char* k, N v) { Key(k), Num(v); }
  void Text(const std::string& v) { out_ += v; }
  void Raw(const char* k, const char* v) { Key(k), out_ += v; }

  template <typename T, typename Fn>
  void Array(const char* k, const std::vector<T>& items, Fn write) {
    Key(k);
    Open('[');
    for (const T& x : items) {
      Next();
      write(*this, x);
    }
    Close(']');
  }

 private:
  std::string out_;
  bool first_ = true;
};

// Expressions are written into their rule's JSON as libnftnl hands them over.
struct ExprWrite {
  ExprNames* names;
  Json* j;
  bool any = false;
};

void WriteExpr(Json& j, nftnl_expr* e, ExprNames& names);

int ExprCb(nftnl_expr* e, void* data) {
  auto* w = static_cast<ExprWrite*>(data);
  w->j->Next();
  w->any = true;
  WriteExpr(*w->j, e, *w->names);
  return 0;
}

// One attribute as a JSON member, decoded as the JS listing did from hex: numbers by their
// width (1, 2, 4, 8 bytes, host order; u64 above 2^53 as a decimal string), strings up to NUL.
void AppendAttr(std::string& out, const AttrSpec* spec, uint16_t id, const uint8_t* p, uint32_t len) {
  if (!out.empty()) out += ',';
  if (spec) AppendJsonString(out, spec->name.data(), spec->name.size());
  else out += "\"attr" + std::to_string(id) + '"';
  out += ':';
  AttrKind kind = spec ? spec->kind : AttrKind::kHex;
  if (kind == AttrKind::kStr) {
    size_t n = strnlen(reinterpret_cast<const char*>(p), len);
    AppendJsonString(out, reinterpret_cast<const char*>(p), n);
    return;
  }
  if (kind != AttrKind::kHex && (len == 1 || len == 2 || len == 4 || len == 8)) {
    uint64_t v = 0;
    memcpy(&v, p, len);  // little-endian host: the low bytes
    if (len == 4 && kind == AttrKind::kSigned) out += std::to_string(int32_t(uint32_t(v)));
    else if (v < (uint64_t(1) << 53)) out += std::to_string(v);
    else out += '"' + std::to_string(v) + '"';
    return;
  }
  out += '"' + ToHex(p, len) + '"';
}

// {"name":…,"attrs":{…}} (attributes by the schema), a dynset's own expressions as "nested".
void WriteExpr(Json& j, nftnl_expr* e, ExprNames& names) {
  const char* name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
  std::string attrs;
  const ExprAttrs* known = name ? names.Find(name) : nullptr;
  bool dynset = name && strcmp(name, "dynset") == 0;
  for (uint16_t id = NFTNL_EXPR_BASE; id < kMaxAttr; id++) {
    if (!nftnl_expr_is_set(e, id)) continue;
    if (dynset && (id == NFTNL_EXPR_DYNSET_EXPR || id == NFTNL_EXPR_DYNSET_EXPRESSIONS)) continue;
    uint32_t len = 0;
    const void* p = nftnl_expr_get(e, id, &len);
    if (!p) continue;
    const AttrSpec* spec = known && known->known[id] ? &known->byId[id] : nullptr;
    AppendAttr(attrs, spec, id, static_cast<const uint8_t*>(p), len);
  }
  j.Open('{');
  j.Field("name", S(name));
  j.Key("attrs");
  j.Open('{');
  j.Text(attrs);
  j.Close('}');
  if (dynset) {
    Json nested;
    nested.Open('[');
    ExprWrite w{&names, &nested};
    nftnl_expr_expr_foreach(e, ExprCb, &w);
    nested.Close(']');
    if (w.any) j.Key("nested"), j.Text(nested.text());
  }
  j.Close('}');
}

std::string RuleText(nftnl_rule* r) {
  std::vector<char> buf(4096);
  for (int i = 0; i < 8; i++) {
    int n = nftnl_rule_snprintf(buf.data(), buf.size(), r, NFTNL_OUTPUT_DEFAULT, 0);
    if (n < 0) break;
    if (size_t(n) < buf.size()) return std::string(buf.data(), size_t(n));
    buf.resize(size_t(n) + 1);
  }
  return std::string();
}

int RuleCb(const nlmsghdr* nlh, void* data) {
  auto* c = static_cast<Ctx*>(data);
  nftnl_rule* r = nftnl_rule_alloc();
  if (nftnl_rule_nlmsg_parse(nlh, r) == 0 && c->table == S(nftnl_rule_get_str(r, NFTNL_RULE_TABLE))) {
    Json j;
    j.Open('{');
    j.Field("handle", nftnl_rule_is_set(r, NFTNL_RULE_HANDLE) ? nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE) : 0);
    if (nftnl_rule_is_set(r, NFTNL_RULE_POSITION)) j.Field("position", nftnl_rule_get_u64(r, NFTNL_RULE_POSITION));
    std::string userdata = HexAttr([&](uint32_t* l) { return nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, l); });
    if (!userdata.empty()) j.Field("userdata", userdata);
    j.Key("exprs");
    j.Open('[');
    ExprWrite exprs{c->names, &j};
    nftnl_expr_foreach(r, ExprCb, &exprs);
    j.Close(']');
    if (c->ruleText) j.Field("text", RuleText(r));
    j.Close('}');
    if (!c->rules->empty()) *c->rules += ',';
    *c->rules += j.text();
  }
  nftnl_rule_free(r);
  return MNL_CB_OK;
}

ElemOut ReadElem(nftnl_set_elem* e) {
  ElemOut o;
  o.key = HexAttr([&](uint32_t* l) { return nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, l); });
  o.keyEnd = HexAttr([&](uint32_t* l) { return nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY_END, l); });
  o.data = HexAttr([&](uint32_t* l) { return nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, l); });
  o.userdata = HexAttr([&](uint32_t* l) { return nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, l); });
  if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_VERDICT)) {
    o.hasVerdict = true;
    o.verdict = int32_t(nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_VERDICT));  // is_set checked
  }
  if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_CHAIN)) o.chain = S(nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN));
  // nftnl_set_elem_get_u32/u64 dereference NULL for unset attributes: check first.
  if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_TIMEOUT)) o.timeout = nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_TIMEOUT);
  if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPIRATION))
    o.expiration = nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_EXPIRATION);
  if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS)) o.flags = nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS);
  return o;
}

// `p[0, n)` as a JSON string: the runs between characters that need escaping in one append.
void AppendJsonString(std::string& out, const char* p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  out += '"';
  size_t from = 0;
  for (size_t i = 0; i < n; i++) {
    auto c = static_cast<unsigned char>(p[i]);
    if (c != '"' && c != '\\' && c >= 0x20) continue;
    out.append(p + from, i - from);
    from = i + 1;
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else {
      const char esc[] = {'\\', 'u', '0', '0', digits[c >> 4], digits[c & 15]};
      out.append(esc, sizeof esc);
    }
  }
  out.append(p + from, n - from);
  out += '"';
}

// Members in the order of the objects the JS side made before (hook, policy and verdict last).
void WriteChain(Json& j, const ChainOut& c) {
  j.Open('{');
  j.Field("name", c.name);
  j.Field("handle", c.handle);
  if (c.base) {
    j.Field("prio", int64_t(c.prio));
    j.Field("type", c.type);
  }
  j.Field("use", uint64_t(c.use));
  j.Field("flags", uint64_t(c.flags));
  if (!c.userdata.empty()) j.Field("userdata", c.userdata);
  j.Key("rules");
  j.Open('[');
  j.Text(c.rules);
  j.Close(']');
  if (c.base) j.Field("hook", uint64_t(c.hook));
  if (c.hasPolicy) j.Field("policy", uint64_t(c.policy));
  j.Close('}');
}

void WriteElem(Json& j, const ElemOut& e) {
  j.Open('{');
  j.Field("key", e.key);
  if (!e.keyEnd.empty()) j.Field("keyEnd", e.keyEnd);
  if (!e.data.empty()) j.Field("data", e.data);
  if (e.timeout) j.Field("timeout", e.timeout);
  if (e.expiration) j.Field("expiration", e.expiration);
  if (e.flags) j.Field("flags", uint64_t(e.flags));
  if (!e.userdata.empty()) j.Field("userdata", e.userdata);
  if (e.hasVerdict) j.Field("verdict", int64_t(e.verdict));
  if (!e.chain.empty()) j.Field("chain", e.chain);
  j.Close('}');
}

void WriteSet(Json& j, const SetOut& s) {
  j.Open('{');
  j.Field("name", s.name);
  j.Field("handle", s.handle);
  j.Field("flags", uint64_t(s.flags));
  j.Field("keyType", uint64_t(s.keyType));
  j.Field("keyLen", uint64_t(s.keyLen));
  if (s.hasData) {
    j.Field("dataType", uint64_t(s.dataType));
    j.Field("dataLen", uint64_t(s.dataLen));
  }
  if (s.timeout) j.Field("timeout", s.timeout);
  if (s.gcInterval) j.Field("gcInterval", uint64_t(s.gcInterval));
  if (s.policy) j.Field("policy", uint64_t(s.policy));
  if (s.descSize) j.Field("size", uint64_t(s.descSize));
  if (!s.concat.empty()) j.Array("concat", s.concat, [](Json& jj, uint32_t v) { jj.Num(uint64_t(v)); });
  if (!s.userdata.empty()) j.Field("userdata", s.userdata);
  j.Array("elements", s.elements, WriteElem);
  if (s.elementsSkipped) j.Raw("elementsListed", "false");
  j.Close('}');
}

void WriteStats(Json& j, const ListStats& s) {
  j.Key("stats");
  j.Open('{');
  j.Field("requests", uint64_t(s.query.requests));
  j.Field("parts", uint64_t(s.query.parts));
  j.Field("attempts", uint64_t(s.attempts));
  j.Field("elementRedumps", uint64_t(s.elementRedumps));
  j.Field("readMs", int64_t(s.readMs));
  j.Field("sendMs", int64_t(s.query.sendMs));
  j.Field("recvMs", int64_t(s.query.recvMs));
  j.Field("waitMs", int64_t(s.query.waitMs));
  j.Field("parseMs", int64_t(s.query.parseMs));
  j.Field("jsonMs", int64_t(s.jsonMs));
  j.Close('}');
}

std::string ListingJson(const Listing& l, uint8_t family, const std::string& table) {
  double started = NowMs();
  Json j;
  j.Open('{');
  j.Raw("exists", l.exists ? "true" : "false");
  j.Field("generation", uint64_t(l.generation));
  j.Field("family", std::string(family == NFPROTO_IPV4 ? "ip" : family == NFPROTO_IPV6 ? "ip6" : "inet"));
  if (l.exists) {
    j.Key("table");
    j.Open('{');
    j.Field("name", table);
    j.Field("handle", l.tableHandle);
    j.Field("flags", uint64_t(l.tableFlags));
    j.Field("use", uint64_t(l.tableUse));
    j.Close('}');
  } else {
    j.Raw("table", "null");
  }
  j.Array("chains", l.chains, WriteChain);
  j.Array("sets", l.sets, WriteSet);
  ListStats stats = l.stats;
  stats.jsonMs = NowMs() - started;  // up to here: the stats are the last member
  WriteStats(j, stats);
  j.Close('}');
  return std::move(j.text());
}

class ListWorker : public Napi::AsyncWorker {
 public:
  ListWorker(Napi::Env env, std::string netns, uint8_t family, std::string table, ExprSchema schema, ListOptions options)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), netns_(std::move(netns)),
        family_(family), table_(std::move(table)), schema_(std::move(schema)), ruleText_(options.ruleText),
        dynamicElements_(options.dynamicElements) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    NetnsSocket sock;
    std::string err, errName;
    if (!sock.Open(netns_, err, errName)) {
      fail_ = {true, "netlink: " + err, errName, ""};
      return;
    }
    sock.Configure(0, 4u << 20);
    // Retry when the ruleset changed while it was being read (generation moved or EINTR).
    for (int attempt = 0; attempt < kMaxAttempts; attempt++) {
      ListStats stats = out_.stats;
      out_ = Listing();
      out_.stats = stats;
      out_.stats.attempts++;
      uint32_t g0 = 0, g1 = 0;
      int e = QueryGeneration(sock, g0);
      double r0 = NowMs();
      if (!e) e = ReadAll(sock);
      out_.stats.readMs += NowMs() - r0;
      if (!e) e = QueryGeneration(sock, g1);
      if (e == EINTR || (!e && g0 != g1)) continue;
      if (e) {
        fail_ = {true, "netlink: listing " + table_ + " failed: " + ErrnoText(e) + " (" + ErrnoName(e) + ")" +
                           (stage_.empty() ? "" : " while reading " + stage_),
                 ErrnoName(e), stage_};
        return;
      }
      out_.generation = g1;
      json_ = ListingJson(out_, family_, table_);
      out_ = Listing();  // the JSON holds it now
      return;
    }
    fail_ = {true, "netlink: the ruleset kept changing while listing " + table_, "EAGAIN", ""};
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (fail_.failed) return deferred_.Reject(MakeFailureError(env, fail_));
    deferred_.Resolve(Napi::String::New(env, json_));
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  int ReadAll(NetnsSocket& sock) {
    Query q(sock);
    int e = ReadWith(q);
    Add(out_.stats.query, q.stats());
    return e;
  }

  int ReadWith(Query& q) {
    ExprNames names(&schema_);
    Ctx ctx{table_, &names, ruleText_, &out_, nullptr};
    // Table.
    stage_ = "table";
    {
      uint32_t seq = q.NextSeq();
      nlmsghdr* nlh = nftnl_nlmsg_build_hdr(q.buffer(), NFT_MSG_GETTABLE, family_, NLM_F_ACK, seq);
      nftnl_table* t = nftnl_table_alloc();
      nftnl_table_set_str(t, NFTNL_TABLE_NAME, table_.c_str());
      nftnl_table_nlmsg_build_payload(nlh, t);
      nftnl_table_free(t);
      int e = q.Run(seq, TableCb, &ctx);
      if (e == ENOENT) {
        stage_.clear();
        return 0;  // exists = false
      }
      if (e) return e;
    }
    stage_ = "chains";
    {
      uint32_t seq = q.NextSeq();
      nlmsghdr* nlh = nftnl_nlmsg_build_hdr(q.buffer(), NFT_MSG_GETCHAIN, family_, NLM_F_DUMP, seq);
      nftnl_chain* c = nftnl_chain_alloc();
      nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table_.c_str());
      nftnl_chain_nlmsg_build_payload(nlh, c);
      nftnl_chain_free(c);
      if (int e = q.Run(seq, ChainCb, &ctx)) return e;
    }
    stage_ = "sets";
    {
      uint32_t seq = q.NextSeq();
      nlmsghdr* nlh = nftnl_nlmsg_build_hdr(q.buffer(), NFT_MSG_GETSET, family_, NLM_F_DUMP, seq);
      nftnl_set* s = nftnl_set_alloc();
      nftnl_set_set_str(s, NFTNL_SET_TABLE, table_.c_str());
      nftnl_set_nlmsg_build_payload(nlh, s);
      nftnl_set_free(s);
      if (int e = q.Run(seq, SetCb, &ctx)) return e;
    }
    return ReadElementsAndRules(q, ctx);
  }

  // What one thread's share of the rule dumps gave.
  struct RulesPart {
    int err = 0;
    std::string stage;
    Query::Stats stats;
  };

  // Rules chain by chain: a table-wide rule dump costs the kernel O(rules²), because every
  // continuation re-walks the table's chains and rules from the start to skip those already
  // sent (10k services on 6.18: 1,200 continuations over 103k rules, 3.9 s in recv; one dump
  // per chain, 45k of them: 0.65 s in sendto and recv together); a dump of one named chain is
  // a hash lookup and a walk of that chain alone. The kernel answers a dump on the thread that
  // asks, so a helper thread with its own socket takes the second half of the chains while
  // this one reads the set elements and the first half (two cores: both busy).
  static constexpr size_t kHelperMinChains = 2000;

  int ReadElementsAndRules(Query& q, Ctx& ctx) {
    size_t n = out_.chains.size(), split = n >= kHelperMinChains ? n / 2 : n;
    RulesPart helped;
    std::thread helper;
    // The helper gets a copy of ctx taken now: this thread changes ctx.rules as it reads.
    if (split < n) helper = std::thread([this, &helped, c = ctx, split, n] { helped = ReadRulesOnOwnSocket(c, split, n); });
    int e = 0;
    for (SetOut& so : out_.sets) {
      if (!dynamicElements_ && (so.flags & NFT_SET_EVAL) && !(so.flags & NFT_SET_MAP)) {
        so.elementsSkipped = true;
        continue;
      }
      stage_ = "elements of set " + so.name;
      if ((e = ReadElements(q, so))) break;
    }
    RulesPart mine;
    if (!e) mine = ReadRulesRange(q, ctx, 0, split);
    if (helper.joinable()) helper.join();
    Add(out_.stats.query, helped.stats);
    if (e) return e;
    for (RulesPart* part : {&mine, &helped}) {
      if (part->err) {
        stage_ = part->stage;
        return part->err;
      }
    }
    stage_.clear();
    return 0;
  }

  RulesPart ReadRulesRange(Query& q, Ctx& ctx, size_t from, size_t to) {
    RulesPart part;
    for (size_t i = from; i < to && !part.err; i++) {
      if ((part.err = ReadRules(q, ctx, out_.chains[i]))) part.stage = "rules of chain " + out_.chains[i].name;
    }
    return part;
  }

  // The helper thread's share: its own socket (opened in the namespace on this thread), query
  // and expression cache; it writes only the rules of its chains.
  RulesPart ReadRulesOnOwnSocket(Ctx ctx, size_t from, size_t to) {
    RulesPart part;
    try {
      NetnsSocket sock;
      std::string err, errName;
      if (!sock.Open(netns_, err, errName)) {
        part.err = EIO;
        part.stage = "rules (a second socket: " + err + ")";
        return part;
      }
      sock.Configure(0, 4u << 20);
      Query q(sock);
      ExprNames names(&schema_);
      ctx.names = &names;
      part = ReadRulesRange(q, ctx, from, to);
      part.stats = q.stats();
    } catch (const std::exception&) {
      part.err = ENOMEM;
      part.stage = "rules (the helper thread ran out of memory)";
    }
    return part;
  }

  static void Add(Query::Stats& to, const Query::Stats& qs) {
    to.requests += qs.requests, to.parts += qs.parts, to.sendMs += qs.sendMs, to.recvMs += qs.recvMs;
    to.waitMs += qs.waitMs, to.parseMs += qs.parseMs;
  }

  int ReadRules(Query& q, Ctx& ctx, ChainOut& co) {
    uint32_t seq = q.NextSeq();
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(q.buffer(), NFT_MSG_GETRULE, family_, NLM_F_DUMP, seq);
    nftnl_rule* r = nftnl_rule_alloc();
    nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table_.c_str());
    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, co.name.c_str());
    nftnl_rule_nlmsg_build_payload(nlh, r);
    nftnl_rule_free(r);
    ctx.rules = &co.rules;
    return q.Run(seq, RuleCb, &ctx);
  }

  // A hash set's element dump is not a snapshot. Each part of it restarts the kernel's walk of
  // the rhashtable and skips as many elements as earlier parts sent (nft_rhash_walk), so a
  // resize between parts (the table grows in a deferred worker after a large insert) reorders
  // the walk: some elements come twice and as many never come (measured here: 1 in 40 dumps of
  // 10k elements read just after they were added, with 1,451 repeats). With no writer between
  // the parts, a dump without a repeated element therefore holds every element once; a dump
  // with repeats is thrown away and that set alone dumped again at once. Nothing sleeps: a dump
  // of 10k elements takes a few ms, the time a resize step takes, so each attempt is a wait
  // that also gets work done; the attempts are bounded by number and by time.
  static constexpr int kElementDumpAttempts = 200;
  static constexpr double kElementDumpBudgetMs = 2000;

  int ReadElements(Query& q, SetOut& so) {
    double deadline = NowMs() + kElementDumpBudgetMs;
    for (int attempt = 1;; attempt++) {
      so.elements.clear();
      if (int e = DumpElements(q, so)) return e;
      if (!HasRepeats(so.elements)) return 0;
      out_.stats.elementRedumps++;
      if (attempt == kElementDumpAttempts || NowMs() > deadline) {
        stage_ += " (each of " + std::to_string(attempt) + " dumps repeated elements: the set kept resizing)";
        return EAGAIN;
      }
    }
  }

  static bool HasRepeats(const std::vector<ElemOut>& elements) {
    std::unordered_set<std::string> seen;
    seen.reserve(elements.size());
    for (const ElemOut& el : elements) {
      // Flags belong to the identity: an interval set holds a range's end as its own element,
      // whose key may equal the next range's start.
      if (!seen.insert(el.key + '/' + el.keyEnd + '/' + std::to_string(el.flags)).second) return true;
    }
    return false;
  }

  int DumpElements(Query& q, SetOut& so) {
    uint32_t seq = q.NextSeq();
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(q.buffer(), NFT_MSG_GETSETELEM, family_, NLM_F_DUMP, seq);
    nftnl_set* s = nftnl_set_alloc();
    nftnl_set_set_str(s, NFTNL_SET_TABLE, table_.c_str());
    nftnl_set_set_str(s, NFTNL_SET_NAME, so.name.c_str());
    nftnl_set_elems_nlmsg_build_payload(nlh, s);
    int e = q.Run(seq, ElemCb, s);
    if (!e) {
      nftnl_set_elems_iter* it = nftnl_set_elems_iter_create(s);
      // iter_next returns the current element and advances (iter_cur + iter_next would
      // visit the first element twice).
      nftnl_set_elem* el;
      while ((el = nftnl_set_elems_iter_next(it)) != nullptr) so.elements.push_back(ReadElem(el));
      nftnl_set_elems_iter_destroy(it);
    }
    nftnl_set_free(s);
    return e;
  }

  Napi::Promise::Deferred deferred_;
  std::string netns_;
  uint8_t family_;
  std::string table_;
  ExprSchema schema_;
  bool ruleText_;
  bool dynamicElements_;  // also dump the elements of sets the data path fills (NFT_SET_EVAL)
  std::string stage_;
  OpFailure fail_;
  Listing out_;
  std::string json_;  // the listing, written by Execute for OnOK
};

// { ruleText?: boolean, dynamicElements?: boolean } (both true when absent).
ListOptions OptionsArg(Napi::Env env, const Napi::Value& v) {
  ListOptions o;
  if (v.IsUndefined()) return o;
  if (!v.IsObject()) throw Napi::TypeError::New(env, "listRuleset: options must be an object");
  Napi::Object obj = v.As<Napi::Object>();
  for (auto [key, field] : {std::pair{"ruleText", &o.ruleText}, std::pair{"dynamicElements", &o.dynamicElements}}) {
    Napi::Value x = obj.Get(key);
    if (x.IsUndefined()) continue;
    if (!x.IsBoolean()) throw Napi::TypeError::New(env, std::string("listRuleset: options.") + key + " must be a boolean");
    *field = x.As<Napi::Boolean>().Value();
  }
  return o;
}

// The EXPR schema from JS: { [expr name]: [[attribute id, name, kind], …] }.
ExprSchema SchemaArg(const Napi::Value& v) {
  if (!v.IsObject()) throw Napi::TypeError::New(v.Env(), "listRuleset: schema must be an object");
  static const std::map<std::string, AttrKind> kinds = {
      {"u8", AttrKind::kUnsigned}, {"u16", AttrKind::kUnsigned}, {"u32", AttrKind::kUnsigned},
      {"u64", AttrKind::kUnsigned}, {"s32", AttrKind::kSigned}, {"str", AttrKind::kStr},
      {"bytes", AttrKind::kHex}, {"expr", AttrKind::kHex}};
  ExprSchema schema;
  Napi::Object o = v.As<Napi::Object>();
  Napi::Array names = o.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); i++) {
    std::string name = names.Get(i).As<Napi::String>().Utf8Value();
    Napi::Array attrs = o.Get(name).As<Napi::Array>();
    ExprAttrs& attrsOf = schema[name];
    for (uint32_t k = 0; k < attrs.Length(); k++) {
      Napi::Array a = attrs.Get(k).As<Napi::Array>();
      auto kind = kinds.find(a.Get(2u).As<Napi::String>().Utf8Value());
      if (kind == kinds.end()) throw Napi::TypeError::New(v.Env(), "listRuleset: unknown attribute kind in schema");
      uint32_t id = a.Get(0u).As<Napi::Number>().Uint32Value();
      if (id >= kMaxAttr) continue;  // WriteExpr reads no attribute beyond
      attrsOf.byId[id] = {a.Get(1u).As<Napi::String>().Utf8Value(), kind->second};
      attrsOf.known[id] = true;
    }
  }
  return schema;
}

}  // namespace

Napi::Value ListRuleset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4)
    throw Napi::TypeError::New(env, "listRuleset(netns, family, table, schema[, options]): expected 4 arguments");
  std::string netns = NetnsArg(info, 0, "listRuleset");
  if (!info[1].IsString()) throw Napi::TypeError::New(env, "listRuleset: family must be 'ip', 'ip6' or 'inet'");
  std::string fam = info[1].As<Napi::String>().Utf8Value();
  uint8_t family;
  if (fam == "ip") family = NFPROTO_IPV4;
  else if (fam == "ip6") family = NFPROTO_IPV6;
  else if (fam == "inet") family = NFPROTO_INET;
  else throw Napi::TypeError::New(env, "listRuleset: family must be 'ip', 'ip6' or 'inet', got '" + fam + "'");
  if (!info[2].IsString()) throw Napi::TypeError::New(env, "listRuleset: table must be a string");
  std::string table = info[2].As<Napi::String>().Utf8Value();
  if (table.empty() || table.size() >= NFT_TABLE_MAXNAMELEN)
    throw Napi::TypeError::New(env, "listRuleset: table name must have 1.." + std::to_string(NFT_TABLE_MAXNAMELEN - 1) + " bytes");
  ListOptions options = OptionsArg(env, info.Length() > 4 ? info[4] : env.Undefined());
  auto* w = new ListWorker(env, std::move(netns), family, std::move(table), SchemaArg(info[3]), options);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace kpb
