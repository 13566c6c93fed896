/* repository.h — the model repository layout and the per-model config file. */
#ifndef INFER_SERVER_REPOSITORY_H
#define INFER_SERVER_REPOSITORY_H

#include "core.h"

/* Adds every REPO/<model>/<version>/model.ifg (or the single file PATH) to core. */
srv_code srv_repository_load(srv_core *core, const char *path, const srv_model_config *defaults, srv_error *err);
/* Applies a key=value config file to config; a missing file changes nothing. */
srv_code srv_config_read(const char *path, srv_model_config *config, srv_error *err);

#endif
