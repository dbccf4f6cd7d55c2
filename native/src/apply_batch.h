// applyBatch(netns: string | null, batch: Buffer, options?: { generation?: number }):
//   Promise<{ messages, bytes, sendMs, buildMs }>. With a generation, the kernel refuses the
//   batch (ERESTART) unless the ruleset is still at that generation.
#pragma once

#include <napi.h>

namespace kpb {

Napi::Value ApplyBatch(const Napi::CallbackInfo& info);

}  // namespace kpb
