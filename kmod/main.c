// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - module init and exit.
 *
 * One init/uninit pair per subsystem that needs one, unwound in reverse by
 * a goto ladder. The device comes last: once it is registered, calls can
 * arrive.
 */
#include <linux/module.h>

#include "kmig.h"

static int __init kmig_init(void)
{
	int ret;

	ret = kmig_dev_init();
	if (ret)
		goto err_dev;

	pr_info("api %u loaded\n", KMIG_API_VERSION);
	return 0;

err_dev:
	return ret;
}

static void __exit kmig_exit(void)
{
	kmig_dev_uninit();
}

module_init(kmig_init);
module_exit(kmig_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Kernel-assisted live migration of KVM guest RAM");
MODULE_AUTHOR("kmig developers");
