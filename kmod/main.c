// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - module init and exit.
 *
 * One init/uninit pair per subsystem that needs one, unwound in reverse by
 * a goto ladder. The netlink family comes first (the deferred stops report
 * through it until the end), then the deferred-stop workqueue, and the
 * device last: once it is registered, calls can arrive. On exit no session
 * is open (an open /dev/kmig holds the module), but deferred stops may be
 * pending: kmig_logstop_uninit() cancels them and waits for the workers.
 */
#include <linux/module.h>

#include "kmig.h"
#include "logstop.h"
#include "netlink.h"

static int __init kmig_init(void)
{
	int ret;

	ret = kmig_nl_init();
	if (ret)
		goto err_nl;
	ret = kmig_logstop_init();
	if (ret)
		goto err_logstop;
	ret = kmig_dev_init();
	if (ret)
		goto err_dev;

	pr_info("api %u loaded\n", KMIG_API_VERSION);
	return 0;

err_dev:
	kmig_logstop_uninit();
err_logstop:
	kmig_nl_uninit();
err_nl:
	return ret;
}

static void __exit kmig_exit(void)
{
	kmig_dev_uninit();
	kmig_logstop_uninit();
	kmig_nl_uninit();
}

module_init(kmig_init);
module_exit(kmig_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Kernel-assisted live migration of KVM guest RAM");
MODULE_AUTHOR("kmig developers");
