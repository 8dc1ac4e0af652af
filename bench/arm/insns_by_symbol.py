"""Attributes counted aarch64 instructions to functions: where the instructions of one unit of
work went, for bench/arm_vs_reference.sh.

    python3 insns_by_symbol.py ONE.blocks THREE.blocks [TOP]

Each file is what bench/arm/insn_count.c writes with blocks=FILE (per translated block: address,
length, instructions executed; then the process's memory map) for a run of 1 and of 3 units of
work. Every block goes to the function that contains it, found through the map (which file,
at what offset) and that file's symbol table (`aarch64-linux-gnu-nm`, the dynamic one when the
file is stripped); the difference of the two runs, halved, is one unit's instructions per
function. Prints the TOP (default 15) functions with their share, heaviest first.

Caveat: a stripped library (ONNX Runtime's, OpenCV's Debian build) has only its exported
symbols, so a block in an internal function is named after the nearest exported symbol below it
only when it falls inside that symbol's size; otherwise it is "LIBRARY (internal)".
"""
import bisect
import collections
import re
import subprocess
import sys

NM = "aarch64-linux-gnu-nm"
READELF = "aarch64-linux-gnu-readelf"


def read_blocks(path):
    blocks, maps = collections.Counter(), []
    with open(path) as f:
        for line in f:
            if line.startswith("maps"):
                break
            addr, _, executed = line.split()
            blocks[int(addr, 16)] += int(executed)
        for line in f:
            parts = line.split(maxsplit=5)
            # Any file mapping: qemu maps guest code without host execute permission.
            if len(parts) == 6 and parts[5].startswith("/"):
                start, end = (int(v, 16) for v in parts[0].split("-"))
                maps.append((start, end, int(parts[2], 16), parts[5].strip()))
    return blocks, sorted(maps)


class Symbols:
    """One ELF file's functions, by the address its program headers give them."""

    def __init__(self, path):
        self.path = path
        self.loads = []  # (file offset, size, vaddr) of each LOAD segment
        out = subprocess.run([READELF, "-lW", path], capture_output=True, text=True).stdout
        for line in out.splitlines():
            f = line.split()
            if f and f[0] == "LOAD":
                self.loads.append((int(f[1], 16), int(f[4], 16), int(f[2], 16)))
        syms = sorted(self._nm([]) or self._nm(["-D"]))
        # Hand-written assembly (tract's NEON kernels) has symbols without a size and local
        # labels (".packed_packed_loop_4"): a label is named after the kernel it is in, and a
        # symbol without a size runs up to the next symbol.
        kernel = ""
        for i, (start, size, name) in enumerate(syms):
            if name.startswith("."):
                name = f"{kernel} {name}"
            elif size == 0:
                kernel = name
            if size == 0 and i + 1 < len(syms):
                size = syms[i + 1][0] - start
            syms[i] = (start, size, name)
        self.starts = [s[0] for s in syms]
        self.syms = syms

    def _nm(self, extra):
        out = subprocess.run([NM, "-C", "--defined-only", "-S", *extra, self.path],
                             capture_output=True, text=True).stdout
        syms = []
        for line in out.splitlines():
            f = line.split(maxsplit=3)
            if len(f) == 3 and len(f[1]) == 1:  # no size field
                f = [f[0], "0", f[1], f[2]]
            if len(f) == 4 and f[2] in "tTwWiI":
                name = re.sub(r"::h[0-9a-f]{16}$", "", f[3])
                syms.append((int(f[0], 16), int(f[1], 16), name))
        return syms

    def name(self, offset):
        vaddr = next((offset - o + v for o, size, v in self.loads if o <= offset < o + size), offset)
        i = bisect.bisect_right(self.starts, vaddr) - 1
        if i >= 0:
            start, size, name = self.syms[i]
            if vaddr < start + max(size, 1):
                return name
        return f"{self.path.rsplit('/', 1)[-1]} (internal)"


def by_function(path, symbols):
    blocks, maps = read_blocks(path)
    starts = [m[0] for m in maps]
    out = collections.Counter()
    for addr, n in blocks.items():
        i = bisect.bisect_right(starts, addr) - 1
        if i < 0 or addr >= maps[i][1]:
            out["(no file: qemu's vdso or generated code)"] += n
            continue
        start, _, offset, file = maps[i]
        if file not in symbols:
            symbols[file] = Symbols(file)
        out[symbols[file].name(addr - start + offset)] += n
    return out


def main():
    one, three = sys.argv[1], sys.argv[2]
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 15
    symbols = {}
    a, b = by_function(one, symbols), by_function(three, symbols)
    diff = {k: (b[k] - a[k]) / 2 for k in set(a) | set(b)}
    total = sum(diff.values())
    print(f"    {total / 1e6:9.2f} M instructions per unit, by function:")
    for name, n in sorted(diff.items(), key=lambda kv: -kv[1])[:top]:
        print(f"    {n / 1e6:9.2f} M {100 * n / total:5.1f}%  {name[:110]}")


if __name__ == "__main__":
    main()
