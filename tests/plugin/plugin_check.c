/* plugin_check.c — the CUDA backend is a plugin: CPU engines map no CUDA library, a missing plugin is a clear error. */
/* Linked as a product links libinfer.a (no CUDA library on its link line). Usage: plugin_check [--cuda-build]
 * (--cuda-build: the build made libinfer_cuda.so, so the default search must find it). Exits 1 on a failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "infer.h"
#include "../../loaders/ifg.h"
#include "../../base/ops.h"
#include "../../runtime/plugin.h"

static int failures;

#define CHECK(cond, ...)                                                                                           \
    do {                                                                                                           \
        if (!(cond)) {                                                                                             \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                                   \
            fprintf(stderr, __VA_ARGS__);                                                                          \
            fputc('\n', stderr);                                                                                   \
            failures++;                                                                                            \
        }                                                                                                          \
    } while (0)

/* The first line of /proc/self/maps that names a file containing one of the given names; NULL when none. */
static const char *mapped(const char *const *names, char *line, size_t n) {
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return "cannot read /proc/self/maps";
    while (fgets(line, (int)n, f)) {
        for (const char *const *name = names; *name; name++) {
            if (strstr(line, *name)) {
                fclose(f);
                line[strcspn(line, "\n")] = '\0';
                return line;
            }
        }
    }
    fclose(f);
    return NULL;
}

static const char *const cuda_libraries[] = { "libcudnn", "libcublas", "libcudart", "libcuda.so", "libinfer_cuda",
                                              NULL };
/* what --device auto must not map without the plugin (it may open the driver, libcuda, to probe) */
static const char *const toolkit_libraries[] = { "libcudnn", "libcublas", "libcudart", "libinfer_cuda", NULL };
static const char *const the_plugin[] = { "libinfer_cuda.so", NULL };

/* y = x W^T + b with x [1, 3], W [2, 3]: small enough to check by hand. */
static infer_model *write_model(const char *path) {
    static const float w[6] = { 1, 2, 3, -1, 0.5f, 0.25f }, b[2] = { 0.5f, -2 };
    ifg_writer *wr;
    infer_error err;
    if (ifg_writer_create(&wr, &err) != INFER_OK) return NULL;
    uint32_t x = ifg_writer_tensor(wr, "x", INFER_F32, 2, (const int64_t[]){ 1, 3 }, NULL, 0);
    uint32_t wt = ifg_writer_tensor(wr, "w", INFER_F32, 2, (const int64_t[]){ 2, 3 }, w, sizeof w);
    uint32_t bt = ifg_writer_tensor(wr, "b", INFER_F32, 1, (const int64_t[]){ 2 }, b, sizeof b);
    uint32_t y = ifg_writer_tensor(wr, "y", INFER_F32, 2, (const int64_t[]){ 1, 2 }, NULL, 0);
    ifg_writer_node(wr, OP_LINEAR, "fc", (const uint32_t[]){ x, wt, bt }, 3, &y, 1);
    ifg_writer_graph(wr, &x, 1, &y, 1);
    infer_status s = ifg_writer_save(wr, path, &err);
    ifg_writer_destroy(wr);
    infer_model *m = NULL;
    if (s == INFER_OK) s = infer_model_load(path, &m, &err);
    if (s != INFER_OK) fprintf(stderr, "plugin_check: test model: %s\n", err.message);
    return m;
}

static void run_on_cpu(infer_engine *e) {
    float x[3] = { 1, 2, 3 };
    infer_tensor in = { INFER_F32, 2, { 1, 3 }, x }, out;
    infer_error err;
    infer_status s = infer_engine_run(e, &in, 1, &out, 1, &err);
    CHECK(s == INFER_OK, "CPU run: %s", err.message);
    if (s != INFER_OK) return;
    const float *y = out.data; /* the engine's */
    CHECK(out.ndim == 2 && out.dims[1] == 2 && y[0] == 14.5f && y[1] == -1.25f,
          "CPU run gave %g %g, expected 14.5 -1.25", y[0], y[1]);
}

int main(int argc, char **argv) {
    int cuda_build = argc > 1 && strcmp(argv[1], "--cuda-build") == 0;
    char path[] = "/tmp/infer_plugin_check.XXXXXX", line[4096];
    int fd = mkstemp(path);
    if (fd < 0) return perror("mkstemp"), 1;
    close(fd);
    infer_model *m = write_model(path);
    unlink(path);
    if (!m) return 1;
    infer_engine_options o;
    infer_error err;
    infer_engine *e = NULL;
    const char *hit;

    /* 1. a CPU engine, built and run, maps no CUDA library, in a CUDA build as in a CPU-only one */
    infer_engine_options_init(&o);
    o.device = INFER_DEVICE_CPU;
    o.threads = 1;
    CHECK(infer_engine_create(m, &o, &e, &err) == INFER_OK, "CPU engine: %s", err.message);
    if (e) run_on_cpu(e);
    infer_engine_destroy(e);
    CHECK(!(hit = mapped(cuda_libraries, line, sizeof line)), "a CPU engine mapped a CUDA library: %s", hit);

    /* 2. --device cuda with a plugin path that does not exist: a clear error at engine build, naming it */
    infer_engine_options_init(&o);
    o.device = INFER_DEVICE_CUDA;
    o.cuda_plugin = "/nonexistent/libinfer_cuda.so";
    e = NULL;
    infer_status s = infer_engine_create(m, &o, &e, &err);
    CHECK(s == INFER_ERR_NO_DEVICE && !e, "a missing plugin gave status %d", (int)s);
    CHECK(strstr(err.message, "--device cuda") && strstr(err.message, "/nonexistent/libinfer_cuda.so"),
          "the message names neither the device nor the path: %s", err.message);
    printf("missing plugin: %s\n", err.message);
    infer_engine_destroy(e);

    /* 3. --device auto with that path takes the CPU silently */
    o.device = INFER_DEVICE_AUTO;
    e = NULL;
    CHECK(infer_engine_create(m, &o, &e, &err) == INFER_OK, "auto without the plugin: %s", err.message);
    if (e) {
        infer_engine_stats st;
        infer_engine_stats_get(e, &st);
        CHECK(st.device == INFER_DEVICE_CPU, "auto without the plugin picked device %d", (int)st.device);
        run_on_cpu(e);
    }
    infer_engine_destroy(e);
    CHECK(!(hit = mapped(toolkit_libraries, line, sizeof line)), "auto without the plugin mapped %s", hit);

    /* 4. --device cuda with the default search: a CUDA build finds its plugin (loaded now, not before);
     * a CPU-only build says the plugin is missing. Without a GPU the plugin's probe says why. */
    infer_engine_options_init(&o);
    o.device = INFER_DEVICE_CUDA;
    e = NULL;
    s = infer_engine_create(m, &o, &e, &err);
    printf("default search: %s\n", s == INFER_OK ? "an engine on the GPU" : err.message);
    if (cuda_build) {
        CHECK(mapped(the_plugin, line, sizeof line), "a CUDA build did not load its plugin: %s", err.message);
        CHECK(s == INFER_OK || s == INFER_ERR_NO_DEVICE, "status %d: %s", (int)s, err.message);
        CHECK(s == INFER_OK || !strstr(err.message, "neither in"), "the plugin was not found: %s", err.message);
    } else {
        CHECK(s == INFER_ERR_NO_DEVICE && strstr(err.message, "libinfer_cuda.so") && strstr(err.message, "CUDA=1"),
              "a CPU-only build: %s", err.message);
        CHECK(!(hit = mapped(toolkit_libraries, line, sizeof line)), "a CPU-only build mapped %s", hit);
    }
    infer_engine_destroy(e);

    /* 5. a shared library that is not a plugin, and a plugin built from other sources, are refused */
    infer_engine_options_init(&o);
    o.device = INFER_DEVICE_CUDA;
    o.cuda_plugin = "libm.so.6";
    e = NULL;
    s = infer_engine_create(m, &o, &e, &err);
    CHECK(s == INFER_ERR_NO_DEVICE && strstr(err.message, "libm.so.6 is not a CUDA backend plugin") &&
              strstr(err.message, INFER_CUDA_PLUGIN_ENTRY), "not a plugin: status %d: %s", (int)s, err.message);
    infer_engine_destroy(e);
    plugin_layout here = PLUGIN_LAYOUT_HERE, other = here;
    CHECK(plugin_layout_check(&here, &err) == INFER_OK, "the same layout is refused: %s", err.message);
    other.engine += 8;
    CHECK(plugin_layout_check(&other, &err) == INFER_ERR_NO_DEVICE && strstr(err.message, "rebuild both"),
          "another layout: %s", err.message);
    other = here;
    other.options -= 8;
    CHECK(plugin_layout_check(&other, &err) == INFER_ERR_NO_DEVICE, "other engine options are accepted");
    infer_model_free(m);
    if (failures) fprintf(stderr, "plugin_check: %d failure(s)\n", failures);
    else printf("plugin_check: all checks passed (%s build)\n", cuda_build ? "CUDA" : "CPU-only");
    return failures ? 1 : 0;
}
