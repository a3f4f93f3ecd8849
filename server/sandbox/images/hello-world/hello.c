/* Slipway's hello-world: a static binary with no libc calls beyond write(2). */
#include <unistd.h>

static const char message[] =
    "\n"
    "Hello from Slipway!\n"
    "\n"
    "You just ran your first container. Here is what happened, step by step:\n"
    " 1. The docker command you typed sent a request to the Docker daemon\n"
    "    (dockerd) running in your sandbox.\n"
    " 2. The daemon looked for an image called \"hello-world\" on this machine,\n"
    "    did not find one, and downloaded it from a registry (here, the\n"
    "    classroom's mirror).\n"
    " 3. From that image the daemon created a new container: an isolated\n"
    "    process with its own filesystem, which runs this small program.\n"
    " 4. The program wrote this text; the daemon passed it back to your\n"
    "    docker command, which printed it in your terminal. Then the program\n"
    "    ended, and so did the container. It still exists, stopped:\n"
    "    `docker ps -a` shows it.\n"
    "\n"
    "Next, try `docker images` to see the image you downloaded.\n"
    "\n";

int main(void) {
    return write(1, message, sizeof message - 1) == (ssize_t)(sizeof message - 1) ? 0 : 1;
}
