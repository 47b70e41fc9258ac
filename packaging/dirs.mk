# Installation directories (GNU names), shared by the top Makefile and
# user/Makefile. Override any of them on the command line, e.g.
#   make install PREFIX=/usr DESTDIR=/tmp/stage
#
# The system's own lookup directories (udev rules, systemd units,
# tmpfiles.d, sysusers.d, DKMS sources, /etc) do not follow PREFIX: udev,
# systemd and dkms only look there.

PREFIX ?= /usr/local
exec_prefix ?= $(PREFIX)
bindir ?= $(exec_prefix)/bin
libdir ?= $(exec_prefix)/lib
libexecdir ?= $(exec_prefix)/libexec
pkglibexecdir ?= $(libexecdir)/kmig
includedir ?= $(PREFIX)/include
datarootdir ?= $(PREFIX)/share
datadir ?= $(datarootdir)
pkgdatadir ?= $(datadir)/kmig
mandir ?= $(datarootdir)/man
man8dir ?= $(mandir)/man8
sysconfdir ?= /etc

ifeq ($(origin udevrulesdir),undefined)
udevrulesdir := $(or $(shell pkg-config --variable=udevdir udev 2>/dev/null),/lib/udev)/rules.d
endif
ifeq ($(origin systemdunitdir),undefined)
systemdunitdir := $(or $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null),/lib/systemd/system)
endif
ifeq ($(origin tmpfilesdir),undefined)
tmpfilesdir := $(or $(shell pkg-config --variable=tmpfilesdir systemd 2>/dev/null),/usr/lib/tmpfiles.d)
endif
ifeq ($(origin sysusersdir),undefined)
sysusersdir := $(or $(shell pkg-config --variable=sysusersdir systemd 2>/dev/null),/usr/lib/sysusers.d)
endif
dkmsdir ?= /usr/src

INSTALL ?= install
