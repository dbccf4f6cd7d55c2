// kpb_nftnl: registers the exports only. Each operation lives in its own file.
#include <napi.h>

#include "apply_batch.h"
#include "constants.h"
#include "get_generation.h"
#include "list_ruleset.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("applyBatch", Napi::Function::New(env, kpb::ApplyBatch, "applyBatch"));
  exports.Set("getGeneration", Napi::Function::New(env, kpb::GetGeneration, "getGeneration"));
  exports.Set("listRuleset", Napi::Function::New(env, kpb::ListRuleset, "listRuleset"));
  exports.Set("constants", kpb::Constants(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(kpb_nftnl, Init)
