/* process.terminal: a pseudoterminal for the container process. Its master
 * goes to the caller over the --console-socket unix socket (SCM_RIGHTS), as
 * runc hands it to containerd's shim; the slave becomes the process's
 * controlling terminal and stdio. */
#ifndef LK_CONSOLE_H
#define LK_CONSOLE_H

#include "spec.h"

/* Caller side, before the container process exists (the socket's path is a
 * host path): the connected socket, or -1 with lk_err set. */
int console_connect(const char *path);

/* Container side, inside its mount namespace and root: opens a pty of the
 * container's devpts, applies consoleSize, sends the master over sock_fd
 * (closed afterwards), binds the slave onto /dev/console when bind_console
 * (the spec asks it for the container's init, not for exec'd processes),
 * and makes it the controlling terminal and fds 0-2. */
int console_setup(const struct spec *s, int sock_fd, int bind_console);

#endif
