/* plugin.c — finding and loading the CUDA backend plugin with dlopen, the first time a CUDA engine is built. */
#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "plugin.h"
#include "../base/error.h"

int plugin_cuda_driver_present(void) {
    void *driver = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
    if (!driver) return 0;
    dlclose(driver); /* nothing of it was called: unloading is safe, and the plugin maps it again */
    return 1;
}

/* The folder of the program or shared library this code was linked into (a product may link libinfer.a
 * into its own .so), with a trailing '/'; "" when unknown. */
static void own_folder(char *dir, size_t n) {
    Dl_info info;
    struct link_map *map = NULL;
    char path[PATH_MAX] = "";
    if (dladdr1((void *)own_folder, &info, (void **)&map, RTLD_DL_LINKMAP) && map && map->l_name[0]) {
        snprintf(path, sizeof path, "%s", map->l_name);
    } else { /* the main program: the dynamic linker knows it by argv[0] only */
        ssize_t len = readlink("/proc/self/exe", path, sizeof path - 1);
        path[len > 0 ? len : 0] = '\0';
    }
    char *slash = strrchr(path, '/');
    if (slash) slash[1] = '\0';
    else path[0] = '\0';
    snprintf(dir, n, "%s", path);
}

infer_status plugin_layout_check(const plugin_layout *core, infer_error *err) {
    plugin_layout mine = PLUGIN_LAYOUT_HERE;
    if (core && memcmp(core, &mine, sizeof mine) == 0) return INFER_OK;
    return infer_fail(err, INFER_ERR_NO_DEVICE, "built from other sources than the program's libinfer (ABI %zu, "
                      "an engine of %zu bytes there, %zu here): rebuild both", core ? core->abi : 0,
                      core ? core->engine : 0, mine.engine);
}

static infer_status enter(void *lib, const char *where, const backend_ops **ops, infer_error *err) {
    plugin_entry_fn entry = (plugin_entry_fn)(uintptr_t)dlsym(lib, INFER_CUDA_PLUGIN_ENTRY);
    if (!entry) {
        dlclose(lib);
        return infer_fail(err, INFER_ERR_NO_DEVICE,
                          "%s is not a CUDA backend plugin for this version of infer (it has no %s)", where,
                          INFER_CUDA_PLUGIN_ENTRY);
    }
    /* a plugin that refuses (an old cuDNN, ...) stays loaded: it may have started the CUDA libraries */
    plugin_layout core = PLUGIN_LAYOUT_HERE;
    *ops = entry(&core, err);
    if (!*ops) return infer_fail_context(err, "CUDA backend plugin %s", where);
    return INFER_OK;
}

infer_status plugin_load_cuda(const char *path, const backend_ops **ops, infer_error *err) {
    *ops = NULL;
    void *lib;
    if (path) {
        if (!(lib = dlopen(path, RTLD_NOW | RTLD_LOCAL)))
            return infer_fail(err, INFER_ERR_NO_DEVICE, "cannot load the CUDA backend plugin: %s", dlerror());
        return enter(lib, path, ops, err);
    }
    char dir[PATH_MAX], beside[PATH_MAX + 32];
    own_folder(dir, sizeof dir);
    snprintf(beside, sizeof beside, "%s%s", dir, INFER_CUDA_PLUGIN_FILE);
    if (dir[0] && access(beside, F_OK) == 0) {
        /* there, but not loadable (a CUDA library it needs is missing): that is the error to report */
        if (!(lib = dlopen(beside, RTLD_NOW | RTLD_LOCAL)))
            return infer_fail(err, INFER_ERR_NO_DEVICE, "cannot load the CUDA backend plugin: %s", dlerror());
        return enter(lib, beside, ops, err);
    }
    if (!(lib = dlopen(INFER_CUDA_PLUGIN_FILE, RTLD_NOW | RTLD_LOCAL)))
        return infer_fail(err, INFER_ERR_NO_DEVICE,
                          "the CUDA backend plugin %s is neither in %s nor on the library search path (%s); "
                          "build infer with CUDA=1, or name the plugin's path in the engine option cuda_plugin",
                          INFER_CUDA_PLUGIN_FILE, dir[0] ? dir : "the program's folder", dlerror());
    return enter(lib, INFER_CUDA_PLUGIN_FILE, ops, err);
}
