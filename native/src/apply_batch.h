// applyBatch(netns: string | null, batch: Buffer): Promise<{ messages, bytes, sendMs, buildMs }>
#pragma once

#include <napi.h>

namespace kpb {

Napi::Value ApplyBatch(const Napi::CallbackInfo& info);

}  // namespace kpb
