# Guest instructions executed, from qemu's "-d in_asm,exec,nochain" log: each translated block's
# length (in_asm) times the number of times it ran (exec, one "Trace" line per run).
/^IN:/ { block = 1; start = ""; n = 0; next }
block && /^0x[0-9a-f]+:/ { if (start == "") start = substr($1, 3, length($1) - 3); n++; next }
block { if (start != "") size[start] = n; block = 0 }
/^Trace / { split($4, f, "/"); pc = f[2]; sub(/^0+/, "", pc); runs[pc]++ }
END { for (pc in runs) total += runs[pc] * size[pc]; printf "%d\n", total }
