// SPDX-License-Identifier: GPL-2.0
/*
 * Device state of kmig-vmm: a versioned, CRC32C-checked blob of typed
 * sections. The helper treats it as opaque bytes; only kmig-vmm reads it.
 *
 *   struct kvmm_ds_header           (crc32c over the whole blob, field = 0)
 *   { struct kvmm_ds_section, payload padded to 8 bytes } * nr_sections
 *
 * Sections: one SLOT per memslot (the destination must have the same
 * layout), and per vCPU: REGS, SREGS, XSAVE, XCRS, MSRS, EVENTS, COUNTERS.
 * Structs are KVM's x86-64 uapi structs as the kernel defines them; the
 * blob is for the same architecture and a compatible CPU model.
 */
#include <errno.h>
#include <isa-l/crc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm.h"

#define DS_MAGIC	0x005645444d4d564bULL	/* "KVMMDEV\0" */
#define DS_VERSION	1

enum {
	DS_SLOT = 1, DS_REGS, DS_SREGS, DS_XSAVE, DS_XCRS, DS_MSRS, DS_EVENTS,
	DS_COUNTERS, DS_NR_TYPES
};
#define DS_VCPU_TYPES	((1U << DS_REGS) | (1U << DS_SREGS) | (1U << DS_XSAVE) | \
			 (1U << DS_XCRS) | (1U << DS_MSRS) | (1U << DS_EVENTS) | \
			 (1U << DS_COUNTERS))

struct kvmm_ds_header {
	uint64_t magic;
	uint32_t version;
	uint32_t header_size;
	uint64_t total_len;
	uint32_t crc32c;
	uint32_t nr_sections;
	uint32_t nr_vcpus;
	uint32_t nr_slots;
	uint64_t ram_size;
	uint32_t xsave_size;
	uint32_t reserved0;
	uint64_t reserved[2];
};

struct kvmm_ds_section {
	uint32_t type;
	uint32_t index;		/* vCPU or slot number */
	uint32_t len;		/* payload bytes (padding not counted) */
	uint32_t reserved;
};

struct kvmm_ds_slot {
	uint32_t id;
	uint32_t reserved;
	uint64_t gpa;
	uint64_t size;
};

struct kvmm_ds_counters {
	uint64_t pages, sweeps, exits, run_ns;
};

/* A growing output buffer. */
struct ds_buf {
	uint8_t *p;
	size_t len, cap;
	uint32_t nr;
};

static int ds_grow(struct ds_buf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 65536;
	uint8_t *p;

	if (need <= b->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static int ds_add(struct ds_buf *b, uint32_t type, uint32_t index,
		  const void *data, uint32_t len)
{
	struct kvmm_ds_section s = { .type = type, .index = index, .len = len };
	size_t need = b->len + sizeof(s) + ((len + 7) & ~7U);

	if (ds_grow(b, need))
		return -ENOMEM;
	memcpy(b->p + b->len, &s, sizeof(s));
	memcpy(b->p + b->len + sizeof(s), data, len);
	memset(b->p + b->len + sizeof(s) + len, 0, ((len + 7) & ~7U) - len);
	b->len = need;
	b->nr++;
	return 0;
}

static uint32_t blob_crc(const uint8_t *p, size_t len)
{
	struct kvmm_ds_header h;
	uint32_t crc;

	memcpy(&h, p, sizeof(h));
	h.crc32c = 0;
	crc = crc32_iscsi((unsigned char *)&h, sizeof(h), 0xffffffff);
	return crc32_iscsi((unsigned char *)p + sizeof(h), (int)(len - sizeof(h)), crc);
}

static int get_vcpu(struct kvmm *vm, struct kvmm_vcpu *v, struct kvmm_vcpu_state *s)
{
	struct { struct kvm_msrs m; struct kvm_msr_entry e[KVMM_MAX_MSRS]; } msrs;
	uint32_t i;
	int n;

	if (ioctl(v->fd, KVM_GET_REGS, &s->regs) ||
	    ioctl(v->fd, KVM_GET_SREGS, &s->sregs) ||
	    ioctl(v->fd, KVM_GET_XCRS, &s->xcrs) ||
	    ioctl(v->fd, KVM_GET_VCPU_EVENTS, &s->events) ||
	    ioctl(v->fd, vm->xsave_size > sizeof(struct kvm_xsave) ?
		  KVM_GET_XSAVE2 : KVM_GET_XSAVE, s->xsave))
		return -errno;
	memset(&msrs, 0, sizeof(msrs));
	msrs.m.nmsrs = vm->nr_msrs;
	for (i = 0; i < vm->nr_msrs; i++)
		msrs.e[i].index = vm->msr_index[i];
	n = ioctl(v->fd, KVM_GET_MSRS, &msrs);
	if (n < 0)
		return -errno;
	s->nr_msrs = (uint32_t)n;	/* KVM stops at the first it can't read */
	memcpy(s->msrs, msrs.e, sizeof(msrs.e[0]) * (size_t)n);
	s->pages = v->pages;
	s->sweeps = v->sweeps;
	s->exits = v->exits;
	s->run_ns = v->run_ns;
	return 0;
}

static int add_vcpu(struct kvmm *vm, struct ds_buf *b, uint32_t i,
		    const struct kvmm_vcpu_state *s)
{
	struct kvmm_ds_counters c = { s->pages, s->sweeps, s->exits, s->run_ns };

	return ds_add(b, DS_REGS, i, &s->regs, sizeof(s->regs)) ?:
	       ds_add(b, DS_SREGS, i, &s->sregs, sizeof(s->sregs)) ?:
	       ds_add(b, DS_XSAVE, i, s->xsave, vm->xsave_size) ?:
	       ds_add(b, DS_XCRS, i, &s->xcrs, sizeof(s->xcrs)) ?:
	       ds_add(b, DS_MSRS, i, s->msrs, s->nr_msrs * sizeof(s->msrs[0])) ?:
	       ds_add(b, DS_EVENTS, i, &s->events, sizeof(s->events)) ?:
	       ds_add(b, DS_COUNTERS, i, &c, sizeof(c));
}

static int add_all(struct kvmm *vm, struct ds_buf *b, struct kvmm_vcpu_state *s,
		   struct kmig_vmmp_err *e)
{
	uint32_t i;
	int ret;

	for (i = 0; i < vm->nr_slots; i++) {
		struct kvmm_ds_slot sl = {
			.id = vm->slots[i].id, .gpa = vm->slots[i].gpa,
			.size = vm->slots[i].size,
		};

		if ((ret = ds_add(b, DS_SLOT, i, &sl, sizeof(sl))))
			return ret;
	}
	for (i = 0; i < vm->nr_vcpus; i++) {
		ret = get_vcpu(vm, &vm->vcpus[i], s);
		if (ret)
			return kmig_vmmp_errf(e, ret, "vCPU %u: reading state: %s",
					      i, strerror(-ret));
		if ((ret = add_vcpu(vm, b, i, s)))
			return ret;
	}
	return 0;
}

int kvmm_devstate_save(struct kvmm *vm, void **blob, size_t *len,
		       struct kmig_vmmp_err *e)
{
	struct ds_buf b = { 0 };
	struct kvmm_vcpu_state s = { 0 };
	struct kvmm_ds_header h = {
		.magic = DS_MAGIC, .version = DS_VERSION,
		.header_size = sizeof(h), .nr_vcpus = vm->nr_vcpus,
		.nr_slots = vm->nr_slots, .ram_size = vm->ram_size,
		.xsave_size = vm->xsave_size,
	};
	int ret;

	s.xsave = calloc(1, vm->xsave_size);
	ret = s.xsave ? ds_grow(&b, sizeof(h)) : -ENOMEM;
	if (ret)
		goto out;
	b.len = sizeof(h);	/* the header is written last */
	ret = add_all(vm, &b, &s, e);
	if (ret)
		goto out;
	h.total_len = b.len;
	h.nr_sections = b.nr;
	memcpy(b.p, &h, sizeof(h));
	h.crc32c = blob_crc(b.p, b.len);
	memcpy(b.p, &h, sizeof(h));
	*blob = b.p;
	*len = b.len;
	b.p = NULL;
out:
	free(s.xsave);
	free(b.p);
	return ret;
}

static int check_header(struct kvmm *vm, const uint8_t *p, size_t len,
			struct kmig_vmmp_err *e)
{
	struct kvmm_ds_header h;

	if (len < sizeof(h))
		return kmig_vmmp_errf(e, -EINVAL, "device state: %zu bytes, header needs %zu",
				      len, sizeof(h));
	memcpy(&h, p, sizeof(h));
	if (h.magic != DS_MAGIC || h.version != DS_VERSION ||
	    h.header_size != sizeof(h) || h.total_len != len)
		return kmig_vmmp_errf(e, -EINVAL,
				      "device state: magic 0x%llx version %u header %u length %llu, expected 0x%llx %u %zu %zu",
				      (unsigned long long)h.magic, h.version, h.header_size,
				      (unsigned long long)h.total_len, DS_MAGIC,
				      DS_VERSION, sizeof(h), len);
	if (h.crc32c != blob_crc(p, len))
		return kmig_vmmp_errf(e, -EBADMSG,
				      "device state: CRC32C 0x%08x does not match the data (0x%08x)",
				      h.crc32c, blob_crc(p, len));
	if (h.nr_vcpus != vm->nr_vcpus || h.nr_slots != vm->nr_slots ||
	    h.ram_size != vm->ram_size || h.xsave_size != vm->xsave_size ||
	    h.reserved0 || h.reserved[0] || h.reserved[1])
		return kmig_vmmp_errf(e, -EINVAL,
				      "device state: source has %u vCPUs, %u slots, %llu bytes RAM, xsave %u; this VM %u, %u, %llu, %u",
				      h.nr_vcpus, h.nr_slots, (unsigned long long)h.ram_size,
				      h.xsave_size, vm->nr_vcpus, vm->nr_slots,
				      (unsigned long long)vm->ram_size, vm->xsave_size);
	return 0;
}

static int want_len(const struct kvmm_ds_section *s, uint32_t len,
		    struct kmig_vmmp_err *e)
{
	if (s->len == len)
		return 0;
	return kmig_vmmp_errf(e, -EINVAL,
			      "device state: section type %u index %u is %u bytes, expected %u",
			      s->type, s->index, s->len, len);
}

static int copy_exact(const struct kvmm_ds_section *s, void *dst, uint32_t len,
		      const void *d, struct kmig_vmmp_err *e)
{
	int ret = want_len(s, len, e);

	if (!ret)
		memcpy(dst, d, len);
	return ret;
}

static int parse_slot(struct kvmm *vm, const struct kvmm_ds_section *s,
		      const void *data, struct kmig_vmmp_err *e)
{
	struct kvmm_ds_slot sl;
	const struct kvmm_slot *mine;
	int ret = want_len(s, sizeof(sl), e);

	if (ret)
		return ret;
	memcpy(&sl, data, sizeof(sl));
	mine = s->index < vm->nr_slots ? &vm->slots[s->index] : NULL;
	if (!mine || mine->id != sl.id || mine->gpa != sl.gpa || mine->size != sl.size)
		return kmig_vmmp_errf(e, -EINVAL,
				      "device state: source slot %u (gpa 0x%llx, %llu bytes) differs from this VM's memslot layout",
				      sl.id, (unsigned long long)sl.gpa,
				      (unsigned long long)sl.size);
	return 0;
}

static int parse_vcpu(struct kvmm *vm, const struct kvmm_ds_section *s,
		      const void *d, struct kvmm_vcpu_state *v,
		      struct kmig_vmmp_err *e)
{
	struct kvmm_ds_counters c;
	int ret = 0;

	switch (s->type) {
	case DS_REGS:
		return copy_exact(s, &v->regs, sizeof(v->regs), d, e);
	case DS_SREGS:
		return copy_exact(s, &v->sregs, sizeof(v->sregs), d, e);
	case DS_XSAVE:
		return copy_exact(s, v->xsave, vm->xsave_size, d, e);
	case DS_XCRS:
		return copy_exact(s, &v->xcrs, sizeof(v->xcrs), d, e);
	case DS_EVENTS:
		return copy_exact(s, &v->events, sizeof(v->events), d, e);
	case DS_MSRS:
		if (s->len % sizeof(v->msrs[0]) || s->len > sizeof(v->msrs))
			return kmig_vmmp_errf(e, -EINVAL, "device state: MSR section of %u bytes",
					      s->len);
		v->nr_msrs = s->len / (uint32_t)sizeof(v->msrs[0]);
		memcpy(v->msrs, d, s->len);
		break;
	case DS_COUNTERS:
		ret = want_len(s, sizeof(c), e);
		if (ret)
			break;
		memcpy(&c, d, sizeof(c));
		v->pages = c.pages;
		v->sweeps = c.sweeps;
		v->exits = c.exits;
		v->run_ns = c.run_ns;
		break;
	}
	return ret;
}

/* One section at *off; advances *off past its padded payload. */
static int parse_section(struct kvmm *vm, const uint8_t *p, size_t len,
			 size_t *off, struct kvmm_vcpu_state *st, uint32_t *seen,
			 struct kmig_vmmp_err *e)
{
	struct kvmm_ds_section s;
	uint64_t padded;

	if (len - *off < sizeof(s))
		return kmig_vmmp_errf(e, -EINVAL, "device state: truncated section header at %zu", *off);
	memcpy(&s, p + *off, sizeof(s));
	padded = ((uint64_t)s.len + 7) & ~7ULL;
	if (padded > len - *off - sizeof(s) || s.reserved ||
	    s.type == 0 || s.type >= DS_NR_TYPES)
		return kmig_vmmp_errf(e, -EINVAL,
				      "device state: bad section at %zu (type %u, %u bytes)",
				      *off, s.type, s.len);
	*off += sizeof(s);
	if (s.type == DS_SLOT) {
		*off += padded;
		return parse_slot(vm, &s, p + *off - padded, e);
	}
	if (s.index >= vm->nr_vcpus || (seen[s.index] & (1U << s.type)))
		return kmig_vmmp_errf(e, -EINVAL,
				      "device state: section type %u for vCPU %u: no such vCPU or repeated",
				      s.type, s.index);
	seen[s.index] |= 1U << s.type;
	*off += padded;
	return parse_vcpu(vm, &s, p + *off - padded, &st[s.index], e);
}

void kvmm_devstate_free(struct kvmm *vm, struct kvmm_vcpu_state *st)
{
	uint32_t i;

	if (!st)
		return;
	for (i = 0; i < vm->nr_vcpus; i++)
		free(st[i].xsave);
	free(st);
}

static struct kvmm_vcpu_state *alloc_states(struct kvmm *vm)
{
	struct kvmm_vcpu_state *st = calloc(vm->nr_vcpus, sizeof(*st));
	uint32_t i;

	for (i = 0; st && i < vm->nr_vcpus; i++) {
		st[i].xsave = calloc(1, vm->xsave_size);
		if (!st[i].xsave) {
			kvmm_devstate_free(vm, st);
			return NULL;
		}
	}
	return st;
}

int kvmm_devstate_parse(struct kvmm *vm, const void *blob, size_t len,
			struct kvmm_vcpu_state **out, struct kmig_vmmp_err *e)
{
	const uint8_t *p = blob;
	uint32_t seen[KGUEST_MAX_VCPUS] = { 0 }, i;
	struct kvmm_vcpu_state *st;
	size_t off = sizeof(struct kvmm_ds_header);
	int ret = check_header(vm, p, len, e);

	if (ret)
		return ret;
	st = alloc_states(vm);
	if (!st)
		return -ENOMEM;
	while (!ret && off < len)
		ret = parse_section(vm, p, len, &off, st, seen, e);
	for (i = 0; !ret && i < vm->nr_vcpus; i++)
		if (seen[i] != DS_VCPU_TYPES)
			ret = kmig_vmmp_errf(e, -EINVAL,
					     "device state: vCPU %u sections 0x%x, expected 0x%x",
					     i, seen[i], DS_VCPU_TYPES);
	if (ret) {
		kvmm_devstate_free(vm, st);
		return ret;
	}
	*out = st;
	return 0;
}

static int set_vcpu(struct kvmm *vm, struct kvmm_vcpu *v,
		    const struct kvmm_vcpu_state *s)
{
	struct { struct kvm_msrs m; struct kvm_msr_entry e[KVMM_MAX_MSRS]; } msrs;
	int n;

	/* SREGS first: this is the vCPU's first KVM_SET_SREGS (CPL3 rule). */
	if (ioctl(v->fd, KVM_SET_SREGS, &s->sregs) ||
	    ioctl(v->fd, KVM_SET_REGS, &s->regs) ||
	    ioctl(v->fd, KVM_SET_XCRS, &s->xcrs) ||
	    ioctl(v->fd, KVM_SET_XSAVE, s->xsave) ||
	    ioctl(v->fd, KVM_SET_VCPU_EVENTS, &s->events))
		return -errno;
	memset(&msrs, 0, sizeof(msrs));
	msrs.m.nmsrs = s->nr_msrs;
	memcpy(msrs.e, s->msrs, sizeof(s->msrs[0]) * s->nr_msrs);
	n = ioctl(v->fd, KVM_SET_MSRS, &msrs);
	if (n < 0)
		return -errno;
	if ((uint32_t)n != s->nr_msrs)
		return -EINVAL;
	v->pages = s->pages;
	v->sweeps = s->sweeps;
	v->exits = s->exits;
	v->run_ns = s->run_ns;
	(void)vm;
	return 0;
}

int kvmm_devstate_apply(struct kvmm *vm, const struct kvmm_vcpu_state *st,
			struct kmig_vmmp_err *e)
{
	uint32_t i;
	int ret;

	for (i = 0; i < vm->nr_vcpus; i++) {
		ret = set_vcpu(vm, &vm->vcpus[i], &st[i]);
		if (ret)
			return kmig_vmmp_errf(e, ret, "vCPU %u: loading state: %s",
					      i, strerror(-ret));
	}
	return 0;
}
