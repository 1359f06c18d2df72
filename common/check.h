#pragma once

// PHAROS_CHECK(cond, msg): for "cannot happen" conditions (STYLE.md error taxonomy). Logs the
// location and message to stderr and aborts, in every build type.

#include <cstdio>
#include <cstdlib>

#define PHAROS_CHECK(cond, msg)                                                          \
  do {                                                                                   \
    if (!(cond)) [[unlikely]] {                                                          \
      std::fprintf(stderr, "%s:%d: check failed: %s: %s\n", __FILE__, __LINE__, #cond, \
                   static_cast<const char*>(msg));                                      \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)
