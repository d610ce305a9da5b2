/* helpers/common.h: includes and constants every pathsteer BPF program needs
 * (vmlinux.h has no #defines, so the few uapi macros we use live here). */
#ifndef PS_HELPERS_COMMON_H
#define PS_HELPERS_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>

#define TC_ACT_UNSPEC (-1) /* cls_bpf: go on with the next filter */
#define TC_ACT_OK 0
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
/* include/linux/skbuff.h */
#define PS_CHECKSUM_PARTIAL 3

/* Make clang forget what it knows about var (keeps bounds checks it would drop). */
#define ps_barrier_var(var) asm volatile("" : "+r"(var))

#endif /* PS_HELPERS_COMMON_H */
