# hk_core_dir.m4 -- keep Autoconf's core-dump cleanup away from core/.   -*- Autoconf -*-
#
# hakmem keeps its main sources in a top-level directory named `core'.
# Autoconf (and Automake) emit `rm -f core ...' in several places of the
# generated configure script, meant to delete a core dump left by a crashing
# test program:
#
#   _AC_INIT_PREPARE   exit trap: `rm -f core *.core core.conftest.* &&
#                                  rm -f -r conftest* confdefs* ... && exit'
#   _AC_COMPILE_IFELSE `rm -f core conftest.err conftest.$ac_objext ...'
#   _AC_LINK_IFELSE    `rm -f core conftest.err ... conftest$ac_exeext'
#   _AC_RUN_IFELSE     `rm -f core *.core core.conftest.* gmon.out ...'
#   AC_PROG_CC_C_O     `rm -rf core conftest*'   (would delete core/ !)
#   _AM_PROG_CC_C_O    `rm -f core conftest*'
#
# With a directory `core' every one of them prints
#   rm: cannot remove 'core': Is a directory
# on stderr, and in the exit trap the failing `rm' short-circuits the `&&'
# chain, so confdefs.h (and conftest*) are left behind, which in turn makes
# `make distcheck' fail (distcleancheck finds the leftovers).
#
# HK_PROTECT_CORE_DIR rewrites those macros' definitions with m4_bpatsubst so
# each `rm -f core' / `rm -rf core' becomes
#   { test -d core || rm -f core; }; rm -f ...rest...
# i.e. a real core-dump *file* named `core' is still removed, a directory is
# never touched, and the rest of the command (and the `&&' chain of the
# trap) runs unchanged.  A dump can never be written to `core' while that is a
# directory anyway, so nothing is lost.
#
# It must be expanded BEFORE AC_INIT, because AC_INIT expands _AC_INIT_PREPARE
# (the exit trap) itself.  configure.ac:
#
#   HK_PROTECT_CORE_DIR
#   AC_INIT([hakmem], [0.1.0])
#
# If a future Autoconf/Automake changes one of these texts so the pattern no
# longer matches, autoconf prints a warning (category `obsolete') naming the
# macro; grep the generated configure for `rm -f core' then.

#serial 1

# _HK_UNCORE_RM(MACRO)
# --------------------
# Rewrite `rm -f core ' and `rm -rf core ' in the definition of MACRO.
# The definition is double-quoted with m4_dquote so m4_bpatsubst returns it
# quoted and nothing inside it is expanded while rewriting.
m4_define([_HK_UNCORE_RM],
[m4_ifdef([$1],
  [m4_pushdef([_hk_old], m4_defn([$1]))]dnl
  [m4_define([$1], m4_bpatsubst(m4_dquote(m4_defn([$1])),
      [rm -\(r?\)f core ],
      [{ test -d core || rm -\1f core; }; rm -\1f ]))]dnl
  [m4_if(m4_dquote(m4_defn([$1])), m4_dquote(m4_defn([_hk_old])),
    [m4_warn([obsolete],
      [HK_PROTECT_CORE_DIR: no `rm -f core' found in $1; check configure])])]dnl
  [m4_popdef([_hk_old])])])

# HK_PROTECT_CORE_DIR
# -------------------
AC_DEFUN([HK_PROTECT_CORE_DIR],
[_HK_UNCORE_RM([_AC_INIT_PREPARE])]dnl
[_HK_UNCORE_RM([_AC_COMPILE_IFELSE])]dnl
[_HK_UNCORE_RM([_AC_LINK_IFELSE])]dnl
[_HK_UNCORE_RM([_AC_RUN_IFELSE])]dnl
[_HK_UNCORE_RM([AC_PROG_CC_C_O])]dnl
[_HK_UNCORE_RM([_AM_PROG_CC_C_O])]dnl
)
