#include "server/scrape/file_sd.h"

#include <glob.h>
#include <sys/stat.h>

#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"
#include "yaml-cpp/yaml.h"

namespace pharos::scrape {

namespace {

absl::Status FileError(const std::string& path, std::string_view msg) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", Av(msg)));
}

}  // namespace

absl::StatusOr<std::vector<TargetGroup>> ParseTargetGroups(const std::string& path,
                                                           std::string_view text) {
  if (!absl::EndsWith(path, ".json") && !absl::EndsWith(path, ".yml") &&
      !absl::EndsWith(path, ".yaml")) {
    return FileError(path, "invalid file extension (expected .json, .yml or .yaml)");
  }
  std::vector<TargetGroup> out;
  try {
    // yaml-cpp reads JSON too (JSON is YAML's flow syntax).
    YAML::Node root = YAML::Load(std::string(text));
    if (root.IsNull()) return out;  // empty file: no groups
    if (!root.IsSequence()) return FileError(path, "expected a list of target groups");
    for (size_t i = 0; i < root.size(); ++i) {
      const YAML::Node g = root[i];
      if (!g.IsMap()) return FileError(path, absl::StrCat("group ", i, ": expected a map"));
      TargetGroup tg;
      tg.source = absl::StrCat(path, ":", i);
      std::vector<std::pair<std::string, std::string>> labels;
      for (auto it = g.begin(); it != g.end(); ++it) {
        // Copies: yaml-cpp's iterator -> returns a temporary proxy, so ranging over
        // it->second directly would dangle.
        const YAML::Node key_node = it->first;
        const YAML::Node value = it->second;
        const std::string key = key_node.as<std::string>();
        if (key == "targets") {
          if (!value.IsSequence() && !value.IsNull()) {
            return FileError(path, absl::StrCat("group ", i, ": targets must be a list"));
          }
          for (const auto& t : value) {
            const std::string addr = t.as<std::string>();
            if (addr.empty() || addr.find('/') != std::string::npos) {
              return FileError(path,
                               absl::StrCat("group ", i, ": \"", addr, "\" is not a valid hostname"));
            }
            tg.targets.push_back(Labels({{"__address__", addr}}));
          }
        } else if (key == "labels") {
          if (!value.IsMap() && !value.IsNull()) {
            return FileError(path, absl::StrCat("group ", i, ": labels must be a map"));
          }
          for (auto l = value.begin(); l != value.end(); ++l) {
            const YAML::Node name_node = l->first;
            const YAML::Node value_node = l->second;
            std::string name = name_node.as<std::string>();
            std::string lvalue = value_node.IsNull() ? "" : value_node.as<std::string>();
            if (name.empty() || !IsValidUtf8(name) || !IsValidUtf8(lvalue)) {
              return FileError(path, absl::StrCat("group ", i, ": invalid label \"", name, "\""));
            }
            labels.emplace_back(std::move(name), std::move(lvalue));
          }
        } else {
          return FileError(path, absl::StrCat("group ", i, ": unknown field \"", key, "\""));
        }
      }
      std::vector<Label> ls;
      for (const auto& [k, v] : labels) ls.push_back({k, v});
      ls.push_back({"__meta_filepath", path});
      tg.labels = Labels(ls);
      out.push_back(std::move(tg));
    }
  } catch (const YAML::Exception& e) {
    return FileError(path, e.what());
  }
  return out;
}

absl::StatusOr<std::vector<TargetGroup>> ReadTargetGroupsFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return FileError(path, "cannot open file");
  std::string text;
  char buf[64 << 10];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (static_cast<int64_t>(text.size()) > kMaxSdFileBytes) {
      return FileError(path, absl::StrCat("file larger than ", kMaxSdFileBytes, " bytes"));
    }
  }
  return ParseTargetGroups(path, text);
}

FileDiscovery::FileDiscovery(config::FileSdConfig cfg, LoggerPtr log)
    : cfg_(std::move(cfg)), log_(std::move(log)) {}

bool FileDiscovery::Refresh(uint64_t* read_errors) {
  std::set<std::string> paths;
  for (const auto& pattern : cfg_.files) {
    glob_t g{};
    if (::glob(pattern.c_str(), 0, nullptr, &g) == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) paths.insert(g.gl_pathv[i]);
    }
    ::globfree(&g);
  }
  bool changed = false;
  for (auto it = files_.begin(); it != files_.end();) {
    if (!paths.count(it->first)) {
      changed = changed || !it->second.groups.empty();
      it = files_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& p : paths) {
    struct stat st {};
    FileState& fs = files_[p];
    if (::stat(p.c_str(), &st) != 0) continue;
    const int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    if (mtime == fs.mtime_ns && st.st_size == fs.size) continue;
    fs.mtime_ns = mtime;
    fs.size = st.st_size;
    auto groups = ReadTargetGroupsFile(p);
    if (!groups.ok()) {
      ++*read_errors;
      log_->error("msg=\"error reading file_sd file, keeping its last targets\" file={} err={}",
                  Quoted(p), Quoted(groups.status().message()));
      continue;
    }
    fs.groups = std::move(*groups);
    changed = true;
  }
  return changed;
}

std::vector<TargetGroup> FileDiscovery::Groups() const {
  std::vector<TargetGroup> out;
  for (const auto& [p, fs] : files_) out.insert(out.end(), fs.groups.begin(), fs.groups.end());
  return out;
}

}  // namespace pharos::scrape
