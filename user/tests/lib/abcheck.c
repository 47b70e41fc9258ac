// SPDX-License-Identifier: GPL-2.0
/*
 * kmig_abcheck: recompute every page a kguest wrote and compare.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "abcheck.h"

/* The memory being checked, with a one-entry lookup cache. */
struct mem {
	const struct kmig_abcheck_range *r;
	uint32_t n;
	uint32_t last;
};

static const struct kmig_abcheck_range *range_of(struct mem *m, uint64_t gpa,
						 uint64_t len)
{
	uint32_t k;

	for (k = 0; k < m->n; k++) {
		uint32_t i = (m->last + k) % m->n;
		const struct kmig_abcheck_range *r = &m->r[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size &&
		    len <= r->size - (gpa - r->gpa)) {
			m->last = i;
			return r;
		}
	}
	return NULL;
}

static const uint8_t *host(struct mem *m, uint64_t gpa, uint64_t len)
{
	const struct kmig_abcheck_range *r = range_of(m, gpa, len);

	return r ? (const uint8_t *)r->host + (gpa - r->gpa) : NULL;
}

/*
 * Pages from @gpa that are holes of the backing file (zero without being
 * read), at most @max; 0 if the page at @gpa may hold data.
 */
static uint64_t hole_pages(struct mem *m, uint64_t gpa, uint64_t max)
{
	const struct kmig_abcheck_range *r = range_of(m, gpa, KGUEST_PAGE_SIZE);
	uint64_t left, off;
	off_t data;

	if (!r || r->fd < 0)
		return 0;
	left = (r->size - (gpa - r->gpa)) >> KGUEST_PAGE_SHIFT;
	off = r->fd_offset + (gpa - r->gpa);
	data = lseek(r->fd, (off_t)off, SEEK_DATA);
	if (data < 0)	/* ENXIO: only holes up to the end of the file */
		return errno == ENXIO ? (max < left ? max : left) : 0;
	left = ((uint64_t)data - off) >> KGUEST_PAGE_SHIFT < left ?
	       ((uint64_t)data - off) >> KGUEST_PAGE_SHIFT : left;
	return max < left ? max : left;
}

static void record(struct kmig_abcheck_report *rep, uint64_t gpa, uint32_t kind,
		   uint8_t expected, uint8_t actual, const char *what)
{
	rep->bad_pages++;
	if (rep->nr_bad < KMIG_ABCHECK_MAX_BAD)
		rep->bad[rep->nr_bad++] = (struct kmig_abcheck_bad) {
			.gpa = gpa, .kind = kind, .expected = expected,
			.actual = actual, .what = what,
		};
}

/* First differing byte of @page against @want from byte @from on, or -1. */
static int first_diff(const uint8_t *page, const uint8_t *want, size_t from)
{
	size_t i;

	if (!memcmp(page + from, want + from, KGUEST_PAGE_SIZE - from))
		return -1;
	for (i = from; page[i] == want[i]; i++)
		;
	return (int)i;
}

/* Compare a whole page with its pattern (from byte @from); 1 if bad. */
static int check_page(struct kmig_abcheck_report *rep, const uint8_t *page,
		      uint64_t gpa, uint32_t kind, uint64_t seed, size_t from)
{
	uint64_t want64[KGUEST_PAGE_SIZE / 8];
	uint8_t *want = (uint8_t *)want64;
	int d;

	kguest_pattern_page(want, kind, seed, gpa >> KGUEST_PAGE_SHIFT);
	d = first_diff(page, want, from);
	if (d < 0)
		return 0;
	record(rep, gpa + (uint64_t)d, kind, want[d], page[d],
	       kind == KGUEST_ZERO ? "zero" : "pattern");
	return 1;
}

static int check_region(struct mem *m, const struct kguest_params *p,
			const struct kguest_region *rg,
			struct kmig_abcheck_report *rep)
{
	uint64_t i;

	for (i = 0; i < rg->pages; i++) {
		uint64_t gpa = rg->gpa + (i << KGUEST_PAGE_SHIFT);
		const uint8_t *page = host(m, gpa, KGUEST_PAGE_SIZE);
		uint64_t holes;

		if (!page)
			return -EINVAL;
		/* Holes of a zero region are zero: skip them unread. */
		holes = rg->kind == KGUEST_ZERO ? hole_pages(m, gpa, rg->pages - i) : 0;
		if (holes) {
			i += holes - 1;
			continue;
		}
		check_page(rep, page, gpa, rg->kind, p->seed, 0);
	}
	rep->pages[rg->kind] += rg->pages;
	return 0;
}

/*
 * Best single boundary for first bytes @b[0..n) given values @hi before it
 * and @lo after it: returns the fewest mismatching pages, *k the boundary.
 */
static uint64_t best_boundary(const uint8_t *b, uint64_t n, uint8_t hi,
			      uint8_t lo, uint64_t *k)
{
	uint64_t i, lo_bad = 0, hi_bad = 0, best, cost;

	for (i = 0; i < n; i++)
		lo_bad += b[i] != lo;
	best = lo_bad;		/* boundary at 0: every page lo */
	*k = 0;
	for (i = 0; i < n; i++) {
		hi_bad += b[i] != hi;
		lo_bad -= b[i] != lo;
		cost = hi_bad + lo_bad;
		if (cost < best) {
			best = cost;
			*k = i + 1;
		}
	}
	return best;
}

/* The a-b share of one vCPU: first bytes, then the rest of each page. */
static int check_ab_share(struct mem *m, const struct kguest_params *p,
			  uint64_t gpa0, uint64_t n, struct kmig_abcheck_ab *ab,
			  struct kmig_abcheck_report *rep)
{
	uint8_t *b;
	uint64_t i, k1, k2, c1, c2;

	if (!n)
		return 0;
	b = malloc(n);
	if (!b)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const uint8_t *page = host(m, gpa0 + (i << KGUEST_PAGE_SHIFT),
					   KGUEST_PAGE_SIZE);

		if (!page) {
			free(b);
			return -EINVAL;
		}
		b[i] = page[0];
	}
	/* Candidates: the first page is before the boundary, or the last after. */
	c1 = best_boundary(b, n, b[0], (uint8_t)(b[0] - 1), &k1);
	c2 = best_boundary(b, n, (uint8_t)(b[n - 1] + 1), b[n - 1], &k2);
	*ab = (struct kmig_abcheck_ab) {
		.first_gpa = gpa0, .pages = n, .boundary = c1 <= c2 ? k1 : k2,
		.hi = c1 <= c2 ? b[0] : (uint8_t)(b[n - 1] + 1),
		.lo = c1 <= c2 ? (uint8_t)(b[0] - 1) : b[n - 1],
	};
	for (i = 0; i < n; i++) {
		uint64_t gpa = gpa0 + (i << KGUEST_PAGE_SHIFT);
		uint8_t want = i < ab->boundary ? ab->hi : ab->lo;

		if (b[i] != want)
			record(rep, gpa, KGUEST_AB, want, b[i], "a-b counter");
		else
			check_page(rep, host(m, gpa, KGUEST_PAGE_SIZE), gpa,
				   KGUEST_AB, p->seed, 1);
	}
	free(b);
	return 0;
}

static int check_ab(struct mem *m, const struct kguest_params *p,
		    const struct kguest_region *rg, struct kmig_abcheck_report *rep)
{
	uint32_t v;
	int ret;

	for (v = 0; v < p->nr_vcpus; v++) {
		uint64_t first, end;

		kguest_share(rg->pages, v, p->nr_vcpus, &first, &end);
		ret = check_ab_share(m, p, rg->gpa + (first << KGUEST_PAGE_SHIFT),
				     end - first, &rep->ab[v], rep);
		if (ret)
			return ret;
	}
	rep->pages[KGUEST_AB] += rg->pages;
	return 0;
}

static int fail(struct kmig_abcheck_report *rep, const char *msg, uint64_t a,
		uint64_t b)
{
	snprintf(rep->error, sizeof(rep->error), msg, (unsigned long long)a,
		 (unsigned long long)b);
	return -EINVAL;
}

/* Parameter block and status page: valid, and every vCPU done filling. */
static int check_guest(struct mem *m, const struct kguest_params **pp,
		       struct kmig_abcheck_report *rep)
{
	const struct kguest_params *p = (const void *)host(m, KGUEST_PARAMS_GPA, sizeof(*p));
	const struct kguest_status *st = (const void *)host(m, KGUEST_STATUS_GPA, sizeof(*st));
	uint32_t v;

	if (!p || !st)
		return fail(rep, "guest RAM does not cover 0x%llx..0x%llx", KGUEST_PARAMS_GPA,
			    KGUEST_STATUS_GPA + KGUEST_PAGE_SIZE);
	if (p->magic != KGUEST_PARAMS_MAGIC || p->version != KGUEST_VERSION ||
	    !p->nr_vcpus || p->nr_vcpus > KGUEST_MAX_VCPUS ||
	    p->nr_regions > KGUEST_MAX_REGIONS)
		return fail(rep, "no valid kguest parameter block (magic 0x%llx, %llu vCPUs)",
			    p->magic, p->nr_vcpus);
	if (st->magic != KGUEST_STATUS_MAGIC)
		return fail(rep, "the guest has not started (status magic 0x%llx, expected 0x%llx)",
			    st->magic, KGUEST_STATUS_MAGIC);
	for (v = 0; v < p->nr_vcpus; v++)
		if (st->vcpu[v].phase != KGUEST_PHASE_DIRTY)
			return fail(rep, "vCPU %llu is in phase %llu, not dirtying: patterns incomplete",
				    v, st->vcpu[v].phase);
	*pp = p;
	return 0;
}

int kmig_abcheck_run(const struct kmig_abcheck_range *r, uint32_t n,
		     struct kmig_abcheck_report *rep)
{
	struct mem m = { .r = r, .n = n };
	const struct kguest_params *p;
	uint32_t i;
	int ret;

	memset(rep, 0, sizeof(*rep));
	ret = check_guest(&m, &p, rep);
	if (ret)
		return ret;
	rep->nr_vcpus = p->nr_vcpus;
	for (i = 0; i < p->nr_regions; i++) {
		const struct kguest_region *rg = &p->regions[i];

		if (rg->kind >= KGUEST_NR_KINDS)
			return fail(rep, "region %llu has kind %llu", i, rg->kind);
		ret = rg->kind == KGUEST_AB ? check_ab(&m, p, rg, rep) :
					      check_region(&m, p, rg, rep);
		if (ret)
			return fail(rep, "region %llu (gpa 0x%llx) is outside the guest RAM given",
				    i, rg->gpa);
	}
	return rep->bad_pages ? -EBADMSG : 0;
}

static const char *const kind_names[KGUEST_NR_KINDS] = {
	"zero", "text", "random", "a-b",
};

void kmig_abcheck_print(const struct kmig_abcheck_report *rep, FILE *f)
{
	uint32_t i;

	if (rep->error[0]) {
		fprintf(f, "integrity: not checked: %s\n", rep->error);
		return;
	}
	fprintf(f, "integrity: %s: %llu bad pages; checked %llu zero, %llu text, %llu random, %llu a-b pages\n",
		rep->bad_pages ? "FAILED" : "ok", (unsigned long long)rep->bad_pages,
		(unsigned long long)rep->pages[KGUEST_ZERO],
		(unsigned long long)rep->pages[KGUEST_TEXT],
		(unsigned long long)rep->pages[KGUEST_RANDOM],
		(unsigned long long)rep->pages[KGUEST_AB]);
	for (i = 0; i < rep->nr_vcpus; i++)
		fprintf(f, "  a-b vCPU %u: %llu pages at 0x%llx, %llu at 0x%02x then 0x%02x\n",
			i, (unsigned long long)rep->ab[i].pages,
			(unsigned long long)rep->ab[i].first_gpa,
			(unsigned long long)rep->ab[i].boundary, rep->ab[i].hi,
			rep->ab[i].lo);
	for (i = 0; i < rep->nr_bad; i++)
		fprintf(f, "  bad: gpa 0x%llx (%s region, %s): expected 0x%02x, found 0x%02x\n",
			(unsigned long long)rep->bad[i].gpa, kind_names[rep->bad[i].kind],
			rep->bad[i].what, rep->bad[i].expected, rep->bad[i].actual);
	if (rep->bad_pages > rep->nr_bad)
		fprintf(f, "  ... and %llu more bad pages\n",
			(unsigned long long)(rep->bad_pages - rep->nr_bad));
}

int kmig_abcheck_read_progress(const struct kmig_abcheck_range *r, uint32_t n,
			       struct kmig_abcheck_progress *p)
{
	struct mem m = { .r = r, .n = n };
	const struct kguest_params *pb = (const void *)host(&m, KGUEST_PARAMS_GPA, sizeof(*pb));
	const struct kguest_status *st = (const void *)host(&m, KGUEST_STATUS_GPA, sizeof(*st));
	uint32_t v;

	memset(p, 0, sizeof(*p));
	if (!pb || !st || pb->magic != KGUEST_PARAMS_MAGIC ||
	    st->magic != KGUEST_STATUS_MAGIC || !pb->nr_vcpus ||
	    pb->nr_vcpus > KGUEST_MAX_VCPUS)
		return -EINVAL;
	p->nr_vcpus = pb->nr_vcpus;
	for (v = 0; v < p->nr_vcpus; v++) {
		p->pages[v] = __atomic_load_n(&st->vcpu[v].pages, __ATOMIC_RELAXED);
		p->sweeps[v] = __atomic_load_n(&st->vcpu[v].sweeps, __ATOMIC_RELAXED);
	}
	return 0;
}

int kmig_abcheck_progressed(const struct kmig_abcheck_progress *before,
			    const struct kmig_abcheck_progress *after)
{
	uint32_t v;

	if (!before->nr_vcpus || before->nr_vcpus != after->nr_vcpus)
		return 0;
	for (v = 0; v < before->nr_vcpus; v++)
		if (after->pages[v] <= before->pages[v])
			return 0;
	return 1;
}
