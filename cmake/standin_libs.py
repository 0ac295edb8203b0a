#!/usr/bin/env python3
"""Stand-in libraries: fmnist's start-up without the libraries that LibTorch names but never uses.

Debian's libtorch_cpu names 46 libraries in its DT_NEEDED entries; 24 of them (OpenCV, FFmpeg,
leveldb, ...) supply it no symbol, yet loading them and their own dependencies is about 200 of
the 289 libraries a start of fmnist loads. This script builds, for one executable, a folder of
empty libraries with the sonames of those that can be left out; the executable's DT_RPATH names
that folder, so the dynamic loader finds the empty ones first. No file of the system's LibTorch
is touched.

  standin_libs.py make EXECUTABLE DIR    (re)build DIR for EXECUTABLE (a post-build step)
  standin_libs.py check EXECUTABLE DIR   exit 1 if a stand-in in DIR would have to supply a
                                         symbol to a library that is still loaded, or if
                                         EXECUTABLE does not start with every symbol bound

A library may stand in only if no library that is still loaded (nor the executable) has an
undefined symbol that the real library defines, nor a version requirement on it: a lazily bound
library calling into a stand-in would die at that call, not at load. The candidates are the
DT_NEEDED entries of LibTorch's own libraries (libtorch*, libc10*) that the executable does not
name itself; a LibTorch whose dependencies all supply symbols (a pip or CUDA build) gets none.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

MANIFEST = "standins.json"  # soname -> the real library it stands in for
NEVER = re.compile(r"^(libc|libm|libdl|libpthread|librt|libgcc_s|libstdc\+\+|ld-linux.*)\.so")
TORCH = re.compile(r"^lib(torch|c10)")


def run(*command, env=None):
    return subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout


def loaded_libraries(executable):
    """(soname, path) of every library the executable loads, in the loader's order."""
    libraries = []
    for line in run("ldd", executable).splitlines():
        match = re.match(r"\s*(\S+) => (/\S+)", line)
        if match:
            libraries.append((match.group(1), os.path.realpath(match.group(2))))
    return libraries


def symbols(path, which):
    names = set()
    for line in run("nm", "-D", "--" + which, path).splitlines():
        fields = line.split()
        if fields:
            names.add(fields[-1].split("@")[0])
    return names


def elf_info(path):
    dynamic = run("readelf", "-dW", path)
    versions = run("readelf", "-VW", path)
    return {
        "needed": re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", dynamic),
        "defined": sorted(symbols(path, "defined-only")),
        "undefined": sorted(symbols(path, "undefined-only")),
        "version_needs": re.findall(r"File: (\S+)", versions),
    }


class Closure:
    """What every library of an executable's closure needs and defines (cached by file)."""

    def __init__(self, executable, cache_path):
        self.cache_path = cache_path
        try:
            with open(cache_path) as f:
                self.cache = json.load(f)
        except (OSError, ValueError):
            self.cache = {}
        self.executable = self.info(os.path.realpath(executable))
        self.paths = dict(loaded_libraries(executable))

    def info(self, path):
        stat = os.stat(path)
        key = f"{path}:{stat.st_size}:{stat.st_mtime_ns}"
        if key not in self.cache:
            self.cache[key] = elf_info(path)
        return self.cache[key]

    def save(self):
        with open(self.cache_path, "w") as f:
            json.dump(self.cache, f)


def users_of(soname, real_path, closure, loaded):
    """The loaded objects that would need `soname`'s real library: a symbol or a version."""
    provided = set(closure.info(real_path)["defined"])
    users = []
    for name, info in loaded:
        used = provided.intersection(info["undefined"])
        if used or soname in info["version_needs"]:
            users.append((name, sorted(used)[:3]))
    return users


def reachable(closure, standins):
    """(name, info) of the objects loaded when `standins` are empty: the executable, then the
    libraries its DT_NEEDED entries reach without passing through a stand-in."""
    loaded, seen = [("executable", closure.executable)], set()
    queue = list(closure.executable["needed"])
    while queue:
        soname = queue.pop(0)
        if soname in seen or soname in standins or soname not in closure.paths:
            continue
        seen.add(soname)
        info = closure.info(closure.paths[soname])
        loaded.append((soname, info))
        queue.extend(info["needed"])
    return loaded


def plan(closure):
    """The sonames that can stand in: candidates dropped until no loaded object needs one."""
    own = set(closure.executable["needed"])
    standins = set()
    for soname, path in closure.paths.items():
        if TORCH.match(soname):
            standins.update(n for n in closure.info(path)["needed"] if n not in own)
    standins = {s for s in standins if s in closure.paths and not NEVER.match(s)}
    changed = True
    while changed:
        loaded = reachable(closure, standins)
        needed = {s for s in standins if users_of(s, closure.paths[s], closure, loaded)}
        standins -= needed
        changed = bool(needed)
    return standins, len(reachable(closure, standins)) - 1


def make(executable, folder):
    shutil.rmtree(folder, ignore_errors=True)  # the real closure, not the last build's
    closure = Closure(executable, folder + ".cache.json")
    standins, count = plan(closure)
    os.makedirs(os.path.dirname(folder), exist_ok=True)
    closure.save()
    work = tempfile.mkdtemp(prefix=os.path.basename(folder) + ".", dir=os.path.dirname(folder))
    os.chmod(work, 0o755)  # other users' starts find them too
    source = os.path.join(work, "empty.cpp")
    open(source, "w").close()
    compiler = os.environ.get("CXX", "c++")
    for soname in sorted(standins):
        # Linked against libc alone (already loaded): Debian wants every library to be; and
        # stripped, as Debian wants every installed object to be.
        run(compiler, "-shared", "-s", "-nostdlib", "-Wl,--no-as-needed", "-lc", "-o",
            os.path.join(work, soname), "-Wl,-soname," + soname, source)
    os.remove(source)
    with open(os.path.join(work, MANIFEST), "w") as f:
        json.dump({s: closure.paths[s] for s in sorted(standins)}, f, indent=1)
    os.rename(work, folder)
    print(f"stand-in libraries: {os.path.basename(executable)} loads {count + len(standins)} "
          f"libraries ({len(standins)} of them empty stand-ins) instead of {len(closure.paths)}")


def check(executable, folder):
    with open(os.path.join(folder, MANIFEST)) as f:
        manifest = json.load(f)
    closure = Closure(executable, folder + ".cache.json")
    standins = {s for s, path in closure.paths.items() if os.path.dirname(path) ==
                os.path.realpath(folder)}
    missing = set(manifest) - standins
    problems = [f"{s}: not loaded from {folder}" for s in sorted(missing)]
    loaded = reachable(closure, standins)
    for soname in sorted(standins):
        for user, used in users_of(soname, manifest[soname], closure, loaded):
            problems.append(f"{soname} stands in for {manifest[soname]}, but {user} needs it"
                            f" ({', '.join(used) or 'a symbol version'})")
    started = subprocess.run([executable, "--help"], capture_output=True, text=True,
                             env=dict(os.environ, LD_BIND_NOW="1"))
    if started.returncode != 0:
        problems.append(f"{executable} --help with LD_BIND_NOW=1: {started.stderr.strip()}")
    for problem in problems:
        print("standin_libs: " + problem, file=sys.stderr)
    print(f"{len(standins)} stand-in libraries, {len(loaded) - 1} libraries loaded: "
          + ("bad" if problems else "OK"))
    return 1 if problems else 0


def main(argv):
    if len(argv) != 4 or argv[1] not in ("make", "check"):
        print(__doc__.split("\n\n")[2], file=sys.stderr)
        return 2
    command, executable, folder = argv[1], argv[2], os.path.abspath(argv[3])
    if command == "check":
        return check(executable, folder)
    try:
        make(executable, folder)
    except (OSError, subprocess.CalledProcessError) as error:  # e.g. no binutils: start slower
        shutil.rmtree(folder, ignore_errors=True)
        print(f"stand-in libraries: none ({error})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
