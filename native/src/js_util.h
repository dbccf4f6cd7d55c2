// JS-side helpers (main thread only): argument checks and Error objects with errno/label.
#pragma once

#include <napi.h>

#include <string>

#include "common.h"

namespace kpb {

inline Napi::Value MakeFailureError(Napi::Env env, const OpFailure& f) {
  Napi::Error e = Napi::Error::New(env, f.message);
  Napi::Object o = e.Value();
  if (!f.errnoName.empty()) o.Set("errno", Napi::String::New(env, f.errnoName));
  if (!f.label.empty()) o.Set("label", Napi::String::New(env, f.label));
  return o;
}

// Reads the netns argument: string (non-empty) or null/undefined (current namespace).
inline std::string NetnsArg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  Napi::Env env = info.Env();
  if (info.Length() <= i || info[i].IsNull() || info[i].IsUndefined()) return std::string();
  if (!info[i].IsString())
    throw Napi::TypeError::New(env, std::string(fn) + ": netns must be a string or null");
  std::string s = info[i].As<Napi::String>().Utf8Value();
  if (s.empty()) throw Napi::TypeError::New(env, std::string(fn) + ": netns must not be empty");
  return s;
}

}  // namespace kpb
