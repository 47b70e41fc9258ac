// SPDX-License-Identifier: GPL-2.0
/*
 * dev.c - the misc device /dev/kmig and ioctl dispatch.
 *
 * Every ioctl goes through one table and one helper that implements the
 * struct conventions of the uapi header: the caller's @size field (not the
 * size encoded in the ioctl number, so that a caller built against a grown
 * header still reaches the right handler) decides how much is copied in,
 * with copy_struct_from_user() semantics; the handler works on a kernel
 * copy; on success the struct is copied back, truncated to the caller's
 * size. A failing call copies nothing back.
 *
 * Calls with a lasting effect (attach, a queued deferred stop) must not
 * take effect and then fail on the copy back: the caller would not know
 * the effect happened (nor, for a stop, the id to cancel it with). For
 * them the struct is made writable first, without writing to it
 * (fault_in_safe_writeable()); only a concurrent munmap/mprotect of the
 * struct by the caller itself can still make the copy back fail.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/pagemap.h>
#include <linux/uaccess.h>

#include "harvest.h"
#include "logstop.h"
#include "session.h"
#include "vm.h"
#include "zscan.h"

/**
 * struct kmig_ioctl - one entry of the dispatch table
 * @name: for debug messages.
 * @cmd: the ioctl number, matched on type, number and direction.
 * @min_size: the v1 size of the struct; smaller callers get -EINVAL.
 * @size: the struct size this module knows.
 * @effect: the call has a lasting effect: see the top comment.
 * @handler: works on the kernel copy; returns 0 or -errno.
 */
struct kmig_ioctl {
	const char *name;
	unsigned int cmd;
	u32 min_size;
	u32 size;
	bool effect;
	int (*handler)(struct kmig_session *s, void *arg);
};

/* When a struct grows, min_size stays at offsetofend() of its v1 tail. */
#define KMIG_IOCTL_(_cmd, _type, _handler, _effect) [_IOC_NR(_cmd)] = { \
	.name = #_cmd, .cmd = _cmd, .min_size = sizeof(_type),	\
	.size = sizeof(_type), .effect = _effect, .handler = _handler }
#define KMIG_IOCTL(_cmd, _type, _handler) \
	KMIG_IOCTL_(_cmd, _type, _handler, false)
#define KMIG_IOCTL_EFFECT(_cmd, _type, _handler) \
	KMIG_IOCTL_(_cmd, _type, _handler, true)

static int kmig_ioctl_get_info(struct kmig_session *s, void *arg);

static const struct kmig_ioctl kmig_ioctls[] = {
	KMIG_IOCTL(KMIG_GET_INFO, struct kmig_info, kmig_ioctl_get_info),
	KMIG_IOCTL_EFFECT(KMIG_ATTACH_VM, struct kmig_attach,
			  kmig_vm_ioctl_attach),
	KMIG_IOCTL(KMIG_ZERO_SCAN, struct kmig_zero_scan, kmig_zscan_ioctl),
	KMIG_IOCTL(KMIG_HARVEST, struct kmig_harvest, kmig_harvest_ioctl),
	KMIG_IOCTL_EFFECT(KMIG_LOG_STOP, struct kmig_log_stop,
			  kmig_logstop_ioctl),
	KMIG_IOCTL(KMIG_LOG_STOP_CANCEL, struct kmig_log_stop_cancel,
		   kmig_logstop_cancel_ioctl),
	KMIG_IOCTL(KMIG_LOG_STOP_QUERY, struct kmig_log_stop_query,
		   kmig_logstop_query_ioctl),
};

/* Large enough for every struct of the table. */
union kmig_ioctl_buf {
	struct kmig_info info;
	struct kmig_attach attach;
	struct kmig_zero_scan zero_scan;
	struct kmig_harvest harvest;
	struct kmig_log_stop log_stop;
	struct kmig_log_stop_cancel log_stop_cancel;
	struct kmig_log_stop_query log_stop_query;
};

static int kmig_ioctl_get_info(struct kmig_session *s, void *arg)
{
	struct kmig_info *info = arg;

	if (!kmig_is_zeroed(info->reserved, sizeof(info->reserved)))
		return -EINVAL;
	info->api_version = KMIG_API_VERSION;
	info->features = KMIG_FEAT_ZERO_SCAN | KMIG_FEAT_HARVEST |
			 KMIG_FEAT_LOG_STOP | KMIG_FEAT_NETLINK;
	info->page_size = PAGE_SIZE;
	info->max_batch_pages = kmig_zscan_max_batch();
	return 0;
}

static const struct kmig_ioctl *kmig_ioctl_find(unsigned int cmd)
{
	const struct kmig_ioctl *desc;
	unsigned int nr = _IOC_NR(cmd);

	if (_IOC_TYPE(cmd) != KMIG_IOCTL_TYPE || nr >= ARRAY_SIZE(kmig_ioctls))
		return NULL;
	/* No speculative load past the table with a user-chosen index. */
	desc = &kmig_ioctls[array_index_nospec(nr, ARRAY_SIZE(kmig_ioctls))];
	if (!desc->handler || _IOC_DIR(desc->cmd) != _IOC_DIR(cmd))
		return NULL;
	return desc;
}

/* The struct copy-in / validate / copy-out helper shared by every ioctl. */
static long kmig_ioctl_call(struct kmig_session *s,
			    const struct kmig_ioctl *desc, void __user *uarg)
{
	union kmig_ioctl_buf buf;
	u32 usize;
	int ret;

	BUILD_BUG_ON(sizeof(buf) > 256);	/* lives on the stack */
	if (get_user(usize, (u32 __user *)uarg))
		return -EFAULT;
	if (usize < desc->min_size)
		return -EINVAL;
	/* As clone3(): bounds the zero check of an unknown tail. */
	if (usize > PAGE_SIZE)
		return -E2BIG;
	/* Zero-fills a short struct; -E2BIG for a non-zero unknown tail. */
	ret = copy_struct_from_user(&buf, desc->size, uarg, usize);
	if (ret)
		return ret;
	if (desc->effect &&
	    fault_in_safe_writeable(uarg, min_t(u32, usize, desc->size)))
		return -EFAULT;

	ret = desc->handler(s, &buf);
	if (ret) {
		pr_debug("%s: session %llu: %d\n", desc->name, s->id, ret);
		return ret;
	}
	if (copy_to_user(uarg, &buf, min_t(u32, usize, desc->size)))
		return -EFAULT;
	return 0;
}

static long kmig_dev_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	const struct kmig_ioctl *desc = kmig_ioctl_find(cmd);

	if (!desc)
		return -ENOTTY;
	return kmig_ioctl_call(file->private_data, desc, (void __user *)arg);
}

static int kmig_dev_open(struct inode *inode, struct file *file)
{
	struct kmig_session *s = kmig_session_create();

	if (!s)
		return -ENOMEM;
	file->private_data = s;
	return nonseekable_open(inode, file);
}

static int kmig_dev_release(struct inode *inode, struct file *file)
{
	kmig_session_destroy(file->private_data);
	return 0;
}

static const struct file_operations kmig_dev_fops = {
	.owner = THIS_MODULE,
	.open = kmig_dev_open,
	.release = kmig_dev_release,
	.unlocked_ioctl = kmig_dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,	/* fixed-width structs only */
	/* No .llseek: nonseekable_open() makes lseek() fail with -ESPIPE. */
};

static struct miscdevice kmig_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = KMIG_DEVICE_NAME,
	.fops = &kmig_dev_fops,
	.mode = 0600,
};

int kmig_dev_init(void)
{
	return misc_register(&kmig_misc);
}

void kmig_dev_uninit(void)
{
	misc_deregister(&kmig_misc);
}
