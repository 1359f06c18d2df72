#pragma once

// MD5 (RFC 1321), for hashmod relabelling only (it must match Go's crypto/md5 bit for bit). A
// small local implementation so that Pharos needs no libcrypto; not for security.

#include <array>
#include <cstdint>
#include <string_view>

namespace pharos::ingest::internal {

std::array<uint8_t, 16> Md5(std::string_view data);

}  // namespace pharos::ingest::internal
