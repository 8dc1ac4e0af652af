/* Guest instruction counter for qemu-user, as a TCG plugin: the same figure as qemu's block log
 * summed by bench/qemu_insns.awk (each translated block's length times the times it ran), but
 * added up inside qemu by one inline add per block instead of written out as text and parsed,
 * so a count runs at about qemu's own speed (the block log made qemu 30-60 times slower and
 * bench/arm_vs_reference.sh counts about 40 runs). bench/arm_vs_reference.sh checks that both
 * methods agree on one run before it trusts this one.
 *
 *   cc -shared -fPIC -O2 -o insn_count.so bench/arm/insn_count.c
 *   qemu-aarch64 -plugin ./insn_count.so,out=FILE[,blocks=FILE][,marks=FILE] PROGRAM...
 *
 * out: gets the total, one number. marks (optional): each time the program makes the system
 * call MARK_SYSCALL (a number Linux does not have; bench/ort-arm's model_bench makes one before
 * and after each node of a model), a line "A1 A2 TOTAL_SO_FAR" with its first two arguments, so
 * the differences give instructions per node. blocks (optional): one line per translated block,
 * "VADDR INSNS_IN_BLOCK INSNS_EXECUTED" (hex address, decimal counts), then the process's memory
 * map, so a helper can attribute blocks to the functions of the binary and of its shared
 * libraries (bench/arm/insns_by_symbol.py).
 *
 * qemu 7.2 (Debian 12) ships plugin support in qemu-user but not the plugin header, so the few
 * entry points used here are declared below from the documented plugin API of that version
 * (QEMU_PLUGIN_VERSION 1). Threads: the adds are not atomic, which is exact for the
 * single-threaded runs the bench makes and off by a few lost increments otherwise. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_info_t;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };

typedef void (*tb_trans_cb)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*atexit_cb)(qemu_plugin_id_t id, void *userdata);
typedef void (*syscall_cb)(qemu_plugin_id_t id, unsigned int vcpu_index, int64_t num, uint64_t a1,
                           uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6,
                           uint64_t a7, uint64_t a8);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, tb_trans_cb cb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op,
                                              void *ptr, uint64_t imm);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, atexit_cb cb, void *userdata);
void qemu_plugin_register_vcpu_syscall_cb(qemu_plugin_id_t id, syscall_cb cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* One record per translation; records live in fixed chunks so the address an inline add points
 * at never moves. A block translated twice (after a code-cache flush) has two records. */
struct block {
  uint64_t vaddr, insns, executed;
};
#define CHUNK 65536
struct chunk {
  struct block blocks[CHUNK];
  size_t used;
  struct chunk *next;
};
static struct chunk *chunks;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *out_path, *blocks_path;
static FILE *marks;
#define MARK_SYSCALL 0x4c4b /* shared with bench/ort-arm/src/bin/model_bench.rs */

static uint64_t total_so_far(void) {
  uint64_t total = 0;
  pthread_mutex_lock(&lock);
  for (struct chunk *c = chunks; c; c = c->next)
    for (size_t i = 0; i < c->used; i++) total += c->blocks[i].executed;
  pthread_mutex_unlock(&lock);
  return total;
}

static void on_syscall(qemu_plugin_id_t id, unsigned int vcpu, int64_t num, uint64_t a1,
                       uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6,
                       uint64_t a7, uint64_t a8) {
  (void)id, (void)vcpu, (void)a3, (void)a4, (void)a5, (void)a6, (void)a7, (void)a8;
  if (num == MARK_SYSCALL)
    fprintf(marks, "%llu %llu %llu\n", (unsigned long long)a1, (unsigned long long)a2,
            (unsigned long long)total_so_far());
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  (void)id;
  pthread_mutex_lock(&lock);
  if (!chunks || chunks->used == CHUNK) {
    struct chunk *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->next = chunks;
    chunks = c;
  }
  struct block *b = &chunks->blocks[chunks->used++];
  pthread_mutex_unlock(&lock);
  b->vaddr = qemu_plugin_tb_vaddr(tb);
  b->insns = qemu_plugin_tb_n_insns(tb);
  /* Every run of the block adds its length: the executed-instruction total of this block. */
  qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &b->executed, b->insns);
}

static void on_guest_exit(qemu_plugin_id_t id, void *userdata) {
  (void)id, (void)userdata;
  uint64_t total = 0;
  if (marks) fclose(marks);
  FILE *blocks = blocks_path ? fopen(blocks_path, "w") : NULL;
  for (struct chunk *c = chunks; c; c = c->next) {
    for (size_t i = 0; i < c->used; i++) {
      total += c->blocks[i].executed;
      if (blocks && c->blocks[i].executed)
        fprintf(blocks, "%llx %llu %llu\n", (unsigned long long)c->blocks[i].vaddr,
                (unsigned long long)c->blocks[i].insns, (unsigned long long)c->blocks[i].executed);
    }
  }
  if (blocks) {
    /* With a 64-bit guest on a 64-bit host qemu maps guest memory 1:1 (guest_base 0), so the
     * host's map of this process names the guest's binary and libraries at guest addresses. */
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[4096];
    fputs("maps\n", blocks);
    while (maps && fgets(line, sizeof line, maps)) fputs(line, blocks);
    if (maps) fclose(maps);
    fclose(blocks);
  }
  FILE *out = out_path ? fopen(out_path, "w") : stderr;
  if (out) {
    fprintf(out, "%llu\n", (unsigned long long)total);
    if (out != stderr) fclose(out);
  }
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
                                                               const struct qemu_info_t *info,
                                                               int argc, char **argv) {
  (void)info;
  for (int i = 0; i < argc; i++) {
    if (strncmp(argv[i], "out=", 4) == 0) out_path = strdup(argv[i] + 4);
    else if (strncmp(argv[i], "blocks=", 7) == 0) blocks_path = strdup(argv[i] + 7);
    else if (strncmp(argv[i], "marks=", 6) == 0) {
      if (!(marks = fopen(argv[i] + 6, "w"))) return -1;
    } else {
      fprintf(stderr, "insn_count: unknown argument %s (out=, blocks=, marks=FILE)\n", argv[i]);
      return -1;
    }
  }
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
  qemu_plugin_register_atexit_cb(id, on_guest_exit, NULL);
  if (marks) qemu_plugin_register_vcpu_syscall_cb(id, on_syscall);
  return 0;
}
