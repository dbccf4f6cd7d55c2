#include "get_generation.h"

#include <libnftnl/gen.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "common.h"
#include "js_util.h"
#include "netlink_query.h"

namespace kpb {

namespace {

int GenCb(const nlmsghdr* nlh, void* data) {
  nftnl_gen* g = nftnl_gen_alloc();
  if (!g) return MNL_CB_ERROR;
  if (nftnl_gen_nlmsg_parse(nlh, g) == 0) *static_cast<uint32_t*>(data) = nftnl_gen_get_u32(g, NFTNL_GEN_ID);
  nftnl_gen_free(g);
  return MNL_CB_OK;
}

class GenWorker : public Napi::AsyncWorker {
 public:
  GenWorker(Napi::Env env, std::string netns)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), netns_(std::move(netns)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    NetnsSocket sock;
    std::string err, errName;
    if (!sock.Open(netns_, err, errName)) {
      fail_ = {true, "netlink: " + err, errName, ""};
      return;
    }
    int e = QueryGeneration(sock, gen_);
    if (e) fail_ = {true, "netlink: getting the generation failed: " + ErrnoText(e) + " (" + ErrnoName(e) + ")", ErrnoName(e), ""};
  }
  void OnOK() override {
    if (fail_.failed) deferred_.Reject(MakeFailureError(Env(), fail_));
    else deferred_.Resolve(Napi::Number::New(Env(), gen_));
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string netns_;
  OpFailure fail_;
  uint32_t gen_ = 0;
};

}  // namespace

int QueryGeneration(NetnsSocket& sock, uint32_t& gen) {
  Query q(sock);
  uint32_t seq = q.NextSeq();
  nftnl_gen_nlmsg_build_hdr(q.buffer(), NFT_MSG_GETGEN, NFPROTO_UNSPEC, NLM_F_ACK, seq);
  return q.Run(seq, GenCb, &gen);
}

Napi::Value GetGeneration(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1) throw Napi::TypeError::New(env, "getGeneration(netns): expected 1 argument");
  auto* w = new GenWorker(env, NetnsArg(info, 0, "getGeneration"));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace kpb
