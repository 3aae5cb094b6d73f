#ifndef BYZSIM_CZEROMQ_SHIM_H
#define BYZSIM_CZEROMQ_SHIM_H
#include <zmq.h>
#endif
