/* probe_steer.bpf.c: TC ingress on the underlay NIC (DESIGN §2.3). A
 * telemetry request from a negotiated source is answered in the kernel when
 * the agent turned the reflector on (helpers/reflect.h). Any other pathsteer
 * probe arriving on a tunnel port gets ps_config.agent_port as its UDP
 * destination, so the kernel delivers it to the agent's ordinary UDP socket
 * instead of the vxlan driver (which would drop it); a response (0x18, 0x7F)
 * also carries the IPv4 TTL it arrived with in header bytes 26-27 (see struct
 * ps_probe_hdr). The UDP checksum stays right for every ip_summed state. In
 * the middlebox role, tenant VXLAN packets have their outer source port
 * recorded per flow (helpers/learn.h); they pass on unchanged. Anything else
 * passes untouched. Shares its maps with vxlan_sport through pins. */
#define PS_MAPS_CORE
#define PS_MAPS_PATH
#define PS_MAPS_REFLECT
#include "helpers/common.h"
#include "pathsteer_maps.h"
#include "helpers/stats.h"
#include "helpers/csum.h"
#include "helpers/parse.h"
#include "helpers/select.h"
#include "helpers/learn.h"
#include "helpers/reflect.h"

/* GPL-compatible: kfuncs (bpf_cast_to_kern_ctx) need it. */
char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Ethernet + IPv4 (with options) + UDP + the whole pathsteer header. */
#define PS_PROBE_PULL_MAX (sizeof(struct ethhdr) + 60 + sizeof(struct udphdr) + sizeof(struct ps_probe_hdr))

/*
 * Deliver the probe to the agent: dport := agent_port and, for responses,
 * reserved[] := {TTL, PS_PROBE_TTL_VALID}. Two 16-bit words change (the port, and header bytes
 * 26-27, which sit at an even offset of the UDP datagram), so:
 *  - zero checksum (no UDP checksum): stays zero;
 *  - partial seed (CHECKSUM_PARTIAL from a sender in another namespace over
 *    veth): the seed covers neither word and stays as it is;
 *  - full checksum (CHECKSUM_NONE, _UNNECESSARY, _COMPLETE): RFC 1624 update.
 * CHECKSUM_COMPLETE: skb->csum is the sum of the packet as received; it must
 * stay the sum of the packet as delivered. With a full checksum the two word
 * changes and the checksum change cancel out; with a zero checksum (or a seed)
 * they do not, and bpf_csum_update() adds the difference (it does nothing
 * unless the skb is CHECKSUM_COMPLETE). The sum of all changes is added
 * whenever it is not zero, so skb->csum always follows the bytes.
 */
static __always_inline void ps_deliver(struct __sk_buff *skb, const struct iphdr *ip, struct udphdr *udp,
				       struct ps_probe_hdr *ph, __u32 l4off, __be16 dport, const bool precise)
{
	__u16 check = udp->check, old_port = udp->dest, old_w, new_w;
	__u32 diff;

	/* Only responses get the TTL: in requests the word is the requester's
	 * (a reply-port hint, Flag REPLY_PORT) and must reach the agent as sent. */
	old_w = *(__u16 *)ph->reserved;
	if (ph->type == PS_TYPE_NEGOTIATION_RESPONSE || ph->type == PS_TYPE_TELEMETRY_RESPONSE) {
		ph->reserved[0] = ip->ttl;
		ph->reserved[1] = PS_PROBE_TTL_VALID;
	}
	new_w = *(__u16 *)ph->reserved;
	diff = ps_csum_diff16(old_port, dport) + ps_csum_diff16(old_w, new_w);

	if (!check) {
		ps_count(PS_STAT_RX_CSUM_ZERO);
	} else if (ps_csum_is_seed(skb, ip, udp, l4off, precise, false)) {
		/* the diff still goes to bpf_csum_update(): a no-op for a real
		 * PARTIAL skb, and right for a compat guess on a COMPLETE one */
		ps_count(PS_STAT_RX_CSUM_SEED);
	} else {
		__u16 fixed = ps_csum_replace16(ps_csum_replace16(check, old_port, dport), old_w, new_w);

		udp->check = fixed;
		diff += ps_csum_diff16(check, fixed);
		ps_count(PS_STAT_RX_CSUM_FIXED);
	}
	udp->dest = dport;
	diff = ps_csum_fold(diff);
	if (diff && diff != 0xffff) /* a multiple of 0xffff is no change */
		bpf_csum_update(skb, diff);
}

static __always_inline int ps_probe_ingress(struct __sk_buff *skb, const bool precise)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ps_reflect_cfg *rc;
	struct ps_tunnel_pkt t;
	struct ps_probe_hdr *ph;
	struct ps_config *cfg;
	struct udphdr *udp;
	struct iphdr *ip;
	__u32 l4off, need;
	__u16 agent;
	__u8 magic[3];
	int r;

	if (!ps_parse_tunnel(data, data_end, &t))
		return TC_ACT_OK;
	ip = t.ip;
	udp = t.udp;
	cfg = t.cfg;
	l4off = t.l4off;

	/* The magic, from the linear data or (a NIC that left only the headers
	 * linear) copied out; tunnel packets are never pulled. */
	ph = (void *)(udp + 1);
	if ((void *)ph + sizeof(magic) <= data_end) {
		__builtin_memcpy(magic, ph, sizeof(magic));
	} else if (bpf_skb_load_bytes(skb, l4off + sizeof(*udp), magic, sizeof(magic))) {
		return TC_ACT_OK;
	}
	if (magic[0] != PS_MAGIC0 || magic[1] != PS_MAGIC1 || magic[2] != PS_MAGIC2) {
		/* tenant traffic: the middlebox role learns the peer's port per flow */
		if (udp->dest == bpf_htons(cfg->vxlan_port)) {
			rc = ps_reflect_cfg();
			if (rc && (rc->flags & PS_RF_LEARN))
				ps_learn_ingress(skb, l4off, ip->saddr, udp->source);
		}
		return TC_ACT_OK;
	}

	/* a probe: the whole header must be there (UDP length and bytes) */
	need = l4off + sizeof(*udp) + sizeof(*ph);
	if (bpf_ntohs(udp->len) < sizeof(*udp) + sizeof(*ph) || skb->len < need) {
		ps_count(PS_STAT_PROBE_RX_SHORT);
		return TC_ACT_OK;
	}
	if ((void *)ph + sizeof(*ph) > data_end) {
		/* header not all linear: pull it (probes only), then parse again */
		if (need > PS_PROBE_PULL_MAX || bpf_skb_pull_data(skb, need))
			return TC_ACT_OK;
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
		ip = data + sizeof(struct ethhdr);
		ps_barrier_var(l4off);
		if (l4off > sizeof(struct ethhdr) + 60)
			return TC_ACT_OK;
		udp = data + l4off;
		ph = (void *)(udp + 1);
		if ((void *)(ip + 1) > data_end || (void *)(ph + 1) > data_end)
			return TC_ACT_OK;
	}

	if (ph->type == PS_TYPE_TELEMETRY_REQUEST) {
		r = ps_reflect_request(skb, data, ip, udp, ph, l4off, precise);
		if (r >= 0)
			return r;
	}

	agent = cfg->agent_port;
	if (!agent || agent == cfg->vxlan_port || agent == cfg->geneve_port) {
		ps_count(PS_STAT_PROBE_RX_NO_AGENT);
		return TC_ACT_OK;
	}
	ps_deliver(skb, ip, udp, ph, l4off, bpf_htons(agent), precise);
	ps_count(PS_STAT_PROBE_RX);
	return TC_ACT_OK;
}

/* Reads the skb's checksum state from the kernel (Linux >= 6.2). */
SEC("tc")
int probe_steer(struct __sk_buff *skb)
{
	return ps_probe_ingress(skb, true);
}

/* Same, for kernels without bpf_cast_to_kern_ctx (see ps_csum_is_seed). */
SEC("tc")
int probe_steer_compat(struct __sk_buff *skb)
{
	return ps_probe_ingress(skb, false);
}
