/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cvmforge: reproducible Confidential VM images and their launch measurements.
 *
 * The public API of libcvmforge, one header per topic under this umbrella:
 * core.h (context, errors, encodings), measure.h, build.h, sign.h, log.h,
 * attest.h. Rules that hold for every function in them:
 *   - the library never prints; a failing call returns a negative CVMF_E_*
 *     code and leaves a one-line message in the context (cvmf_ctx_errmsg);
 *   - ret_* out-parameters are written only on success;
 *   - every *_free() accepts NULL.
 */
#ifndef CVMFORGE_H
#define CVMFORGE_H

#include "cvmforge/core.h"
#include "cvmforge/measure.h"
#include "cvmforge/build.h"
#include "cvmforge/sign.h"
#include "cvmforge/log.h"
#include "cvmforge/attest.h"

#endif /* CVMFORGE_H */
