// Shared helpers for the kpb_nftnl addon: errno names, hex encoding, monotonic time.
#pragma once

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>

namespace kpb {

inline std::string ErrnoName(int err) {
  const char* n = strerrorname_np(err);
  return n ? std::string(n) : ("E" + std::to_string(err));
}

inline std::string ErrnoText(int err) {
  char buf[256];
  // GNU strerror_r returns a pointer that may or may not be buf.
  const char* s = strerror_r(err, buf, sizeof buf);
  return std::string(s);
}

inline std::string ToHex(const void* data, size_t len) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.resize(len * 2);
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < len; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  return out;
}

inline double NowMs() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

// A failure that carries an errno code and the label of the operation it belongs to.
struct OpFailure {
  bool failed = false;
  std::string message;
  std::string errnoName;  // empty when not an errno-style failure
  std::string label;
};

}  // namespace kpb
