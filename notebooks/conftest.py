"""nbval's kernels talk over local IPC sockets, as the runner's do (pipeline/kernels.py):
a kernel reached over TCP without encryption warns at every start."""

import nbval.kernel

from customer_analytics.pipeline.kernels import LocalSyncKernelManager

# nbval starts every kernel through the class its module names.
nbval.kernel.KernelManager = LocalSyncKernelManager
