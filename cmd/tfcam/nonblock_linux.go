package main

import "syscall"

// syscallNonblock opens FIFOs without waiting for a writer.
const syscallNonblock = syscall.O_NONBLOCK
