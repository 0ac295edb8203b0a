// The installed tool: the man page and completion scripts cover every flag and work in their
// programs; `cmake --install` gives a working binary and a CMake package that a program builds
// against.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "test_util.hpp"

namespace fmnist {
namespace {

using testing::CommandResult;
using testing::TempDir;

// Output (with its standard error unless `stdout_only`) and exit status of a shell command.
CommandResult shell(const std::string& command, bool stdout_only = false) {
  CommandResult result;
  FILE* pipe = popen((command + (stdout_only ? " 2>/dev/null" : " 2>&1")).c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  for (std::size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;)
    result.out.append(buffer, n);
  int status = pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

bool have(const std::string& program) {
  return shell("command -v " + program + " >/dev/null").status == 0;
}

// The subcommands that `help` (a command's --help) lists.
std::vector<std::string> subcommands(const std::string& help) {
  std::vector<std::string> names;
  std::size_t at = help.find("\nSubcommands:\n");
  if (at == std::string::npos) return names;
  std::istringstream lines(help.substr(at + 14));
  for (std::string line; std::getline(lines, line) && !line.empty();) {
    std::smatch match;
    if (std::regex_search(line, match, std::regex("^  ([a-z]+) "))) names.push_back(match[1]);
  }
  return names;
}

// Every command path ("train", "data verify") with the long flags its --help lists.
std::vector<std::pair<std::string, std::set<std::string>>> commands_and_flags(const TempDir& dir) {
  std::vector<std::pair<std::string, std::set<std::string>>> result;
  std::vector<std::string> pending = {""};
  while (!pending.empty()) {
    std::string path = pending.back();
    pending.pop_back();
    CommandResult help = testing::run_fmnist(path + " --help", dir.path());
    std::set<std::string> flags;
    std::regex flag("(^|[ ,])(--[a-z][a-z0-9-]*)");
    std::istringstream lines(help.out);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("  -", 0) != 0) continue;  // options' lines only, not the descriptions
      for (std::sregex_iterator it(line.begin(), line.end(), flag), end; it != end; ++it) {
        flags.insert((*it)[2]);
      }
    }
    result.emplace_back(path, flags);
    for (const std::string& sub : subcommands(help.out)) {
      pending.push_back(path.empty() ? sub : path + " " + sub);
    }
  }
  return result;
}

std::string roff_flag(const std::string& flag) {
  return std::regex_replace(flag, std::regex("-"), "\\-");
}

TEST(InstallTest, ManPageAndCompletionNameEveryCommandAndFlag) {
  TempDir dir;
  std::string man = testing::run_fmnist("manual", dir.path()).out;
  std::string bash = testing::run_fmnist("completion bash", dir.path()).out;
  std::string zsh = testing::run_fmnist("completion zsh", dir.path()).out;
  auto commands = commands_and_flags(dir);
  ASSERT_GE(commands.size(), 12u);  // fmnist, 10 commands, data verify, checkpoint upgrade
  std::size_t checked = 0;
  for (const auto& [path, flags] : commands) {
    if (!path.empty()) {  // "data verify": its case in bash, its function in zsh
      EXPECT_NE(bash.find("'" + path + "')"), std::string::npos) << path;
      std::string function = "_fmnist_" + std::regex_replace(path, std::regex("[ -]"), "_");
      EXPECT_NE(zsh.find(function + "() {"), std::string::npos) << path;
    }
    for (const std::string& flag : flags) {
      if (flag == "--help") continue;
      ++checked;
      EXPECT_NE(man.find(roff_flag(flag)), std::string::npos) << path << " " << flag;
      EXPECT_NE(bash.find(flag), std::string::npos) << path << " " << flag;
      EXPECT_TRUE(zsh.find("'" + flag + "[") != std::string::npos ||
                  zsh.find("," + flag + "}'[") != std::string::npos)
          << path << " " << flag;
    }
  }
  EXPECT_GE(checked, 60u);
}

TEST(InstallTest, ManPageRendersWithoutWarnings) {
  if (!have("groff")) FMNIST_SKIP_OUTSIDE_CI("groff is not installed (scripts/install-deps.sh)");
  TempDir dir;
  testing::write_bytes(dir / "fmnist.1", testing::run_fmnist("manual", dir.path()).out);
  const std::string page = (dir / "fmnist.1").string();
  CommandResult warnings = shell("groff -man -ww -z " + page);  // only warnings, on stderr
  EXPECT_EQ(warnings.status, 0) << warnings.out;
  EXPECT_EQ(warnings.out, "");
  CommandResult render = shell("groff -man -Tascii -P-cbou " + page, /*stdout_only=*/true);
  EXPECT_NE(render.out.find("fmnist - train, evaluate and run"), std::string::npos) << render.out;
  EXPECT_NE(render.out.find("--clean-epochs INT"), std::string::npos) << render.out;
  EXPECT_NE(render.out.find("fmnist data verify"), std::string::npos);
  EXPECT_NE(render.out.find("EXIT STATUS"), std::string::npos);
}

// What bash-completion offers after `words` (the last one being completed), in `dir`.
std::string bash_complete(const TempDir& dir, const std::string& words) {
  testing::write_bytes(dir / "fmnist.bash", testing::run_fmnist("completion bash", dir.path()).out);
  testing::write_bytes(dir / "complete.sh",
                       "source /usr/share/bash-completion/bash_completion\n"
                       "source fmnist.bash\n"
                       "COMP_WORDS=(" +
                           words +
                           ")\n"
                           "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
                           "COMP_LINE=\"${COMP_WORDS[*]}\"; COMP_POINT=${#COMP_LINE}\n"
                           "_fmnist fmnist\n"
                           "printf '%s\\n' \"${COMPREPLY[@]}\" | sort | tr '\\n' ' '\n");
  return shell("cd " + dir.path().string() + " && bash complete.sh").out;
}

TEST(InstallTest, BashCompletesCommandsFlagsChoicesAndFiles) {
  if (!std::ifstream("/usr/share/bash-completion/bash_completion")) {
    FMNIST_SKIP_OUTSIDE_CI("bash-completion is not installed (scripts/install-deps.sh)");
  }
  TempDir dir;
  for (const char* file : {"a.pt", "b.png", "c.JPG", "notes.txt"})
    testing::write_bytes(dir / file, "");
  EXPECT_EQ(bash_complete(dir, "fmnist pre"), "predict ");
  EXPECT_EQ(bash_complete(dir, "fmnist data v"), "verify ");
  EXPECT_EQ(bash_complete(dir, "fmnist train --arch ''"), "cnn cnn-bn resnet ");
  EXPECT_EQ(bash_complete(dir, "fmnist train --recipe ''"), "accurate tutorial ");
  EXPECT_EQ(bash_complete(dir, "fmnist eval --model ''"), "a.pt ");
  EXPECT_EQ(bash_complete(dir, "fmnist predict --tta ''"), "b.png c.JPG ");
  EXPECT_EQ(bash_complete(dir, "fmnist eval --tt"), "--tta ");
  EXPECT_EQ(bash_complete(dir, "fmnist predict --q"), "--quiet ");  // a global flag
}

TEST(InstallTest, ZshCompletionParsesAndLoads) {
  if (!have("zsh")) FMNIST_SKIP_OUTSIDE_CI("zsh is not installed (scripts/install-deps.sh)");
  TempDir dir;
  testing::write_bytes(dir / "_fmnist", testing::run_fmnist("completion zsh", dir.path()).out);
  CommandResult parse = shell("zsh -n " + (dir / "_fmnist").string());
  EXPECT_EQ(parse.status, 0) << parse.out;
  EXPECT_EQ(parse.out, "");
  // compinit finds it on fpath and binds it to fmnist.
  CommandResult bound = shell("zsh -f -c 'fpath=(" + dir.path().string() +
                              " $fpath); autoload -U compinit; compinit -u -d " +
                              (dir / "zcompdump").string() + "; print ${_comps[fmnist]}'");
  EXPECT_EQ(bound.out, "_fmnist\n");
}

// cmake --install into a fresh prefix: the binary runs from there, the man page and completion
// are in place, and a program built against the installed package classifies as predict does.
TEST(InstallTest, InstalledToolAndLibraryWork) {
  TempDir prefix, work;
  CommandResult install =
      shell("cmake --install '" FMNIST_BUILD_DIR "' --prefix '" + prefix.path().string() + "'");
  ASSERT_EQ(install.status, 0) << install.out;
  const std::string bin = (prefix / "bin/fmnist").string();
  CommandResult version = shell("'" + bin + "' --version");
  EXPECT_EQ(version.status, 0) << version.out;
  EXPECT_EQ(version.out.rfind("fmnist 0.", 0), 0u) << version.out;
  for (const char* file : {"share/man/man1/fmnist.1.gz", "share/bash-completion/completions/fmnist",
                           "share/zsh/site-functions/_fmnist", "share/doc/fmnist/README.md",
                           "share/doc/fmnist/LICENSE", "share/doc/fmnist/samples/bag.jpg",
                           "include/fmnist/classifier/classifier.hpp"}) {
    EXPECT_TRUE(std::filesystem::exists(prefix / file)) << file;
  }
  // The installed README's and docs' relative links (docs, figures, the example) lead somewhere.
  const std::filesystem::path doc = prefix / "share/doc/fmnist";
  std::size_t links = 0;
  for (const std::filesystem::path& page :
       {doc / "README.md", doc / "docs/testing.md", doc / "docs/distributed.md"}) {
    const std::string text = testing::read_bytes(page);
    EXPECT_FALSE(text.empty()) << page;
    const std::regex link("\\]\\(([A-Za-z.][^)#:]*)[)#]");
    for (std::sregex_iterator it(text.begin(), text.end(), link), end; it != end; ++it, ++links) {
      EXPECT_TRUE(std::filesystem::exists(page.parent_path() / (*it)[1].str()))
          << page << ": " << (*it)[1];
    }
  }
  EXPECT_GE(links, 15u);
  testing::save_fresh_checkpoint(work / "model.pt", /*seed=*/3);
  const std::string bag = (prefix / "share/doc/fmnist/samples/bag.jpg").string();
  CommandResult predict = shell("cd '" + work.path().string() + "' && '" + bin +
                                    "' predict --top-k 3 --format json --threads 1 '" + bag + "'",
                                /*stdout_only=*/true);
  ASSERT_EQ(predict.status, 0) << predict.out;

  CommandResult build =
      shell("cmake -S '" FMNIST_SOURCE_DIR "/examples/classify' -B '" + (work / "build").string() +
            "' -DCMAKE_PREFIX_PATH='" + prefix.path().string() + "' && cmake --build '" +
            (work / "build").string() + "'");
  ASSERT_EQ(build.status, 0) << build.out;
  CommandResult classify = shell("'" + (work / "build/classify").string() + "' '" +
                                     (work / "model.pt").string() + "' '" + bag + "'",
                                 /*stdout_only=*/true);
  ASSERT_EQ(classify.status, 0) << classify.out;
  nlohmann::json predicted = nlohmann::json::parse(predict.out);
  std::string expected = bag + ":";
  for (const auto& top : predicted["predictions"][0]["top"]) {
    char probability[32];
    std::snprintf(probability, sizeof probability, "%.4f", top["probability"].get<double>());
    expected += " " + top["class"].get<std::string>() + " " + probability;
  }
  EXPECT_EQ(classify.out, expected + "\n");
  // The library exports what its headers declare, nothing of fmnist's internals, and leaves
  // the program's library lookups alone (no RPATH to the stand-ins).
  const std::string library = prefix.path().string() + "/lib*/libfmnist.so";
  CommandResult symbols = shell("nm -D --defined-only -C " + library, /*stdout_only=*/true);
  std::istringstream lines(symbols.out);
  std::size_t exported = 0;
  for (std::string line; std::getline(lines, line); ++exported) {
    std::string name = line.substr(line.find(' ', line.find(' ') + 1) + 1);
    EXPECT_TRUE(std::regex_search(name, std::regex("^(fmnist::|typeinfo (name )?for fmnist::"
                                                   "|vtable for fmnist::)")))
        << name;
    EXPECT_EQ(name.find("Impl"), std::string::npos) << name;
  }
  EXPECT_GE(exported, 10u) << symbols.out;
  EXPECT_NE(symbols.out.find("fmnist::describe"), std::string::npos);
  EXPECT_NE(symbols.out.find("typeinfo for fmnist::ImageError"), std::string::npos);
  EXPECT_EQ(shell("readelf -d " + library + " | grep -c PATH").out, "0\n");
}

}  // namespace
}  // namespace fmnist
