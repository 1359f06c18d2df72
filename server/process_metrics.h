#pragma once

namespace pharos {
class Registry;

// Registers the standard process_* collector (CPU, memory, fds, start time) read from /proc.
void RegisterProcessMetrics(Registry& registry);

}  // namespace pharos
