#!/usr/bin/perl
# kwok runs a `kubectl exec` command itself, on the host. Two ways lead here instead:
#  - a bare name ("sh", "java"): kwok looks it up on its PATH, whose first folder holds a link to
#    this script under the name of every command the host has;
#  - /bin/sh, /bin/bash (and their /usr/bin twins): kwok runs in a mount namespace of its own
#    where those files are this script (see kwok-controller.sh).
# We enter the container (its mount, UTS, network and PID namespaces, root and working directory)
# and run the command there as it was asked for. The pod's Exec resource gives us the container's
# PID file and env (PATH included). Perl, not sh: sh itself may be this script.
use strict;
use warnings;
use File::Basename qw(fileparse);

my ($base, $dir) = fileparse($0);
my $cmd = -e "$dir.devlane-exec" ? $base : $0;
my $pidfile = delete $ENV{DEVLANE_EXEC_PIDFILE};
if (!$pidfile) {
    print STDERR "devlane: no container to run \"$cmd\" in (the pod has no exec target)\n";
    exit 126;
}
open(my $fh, '<', $pidfile) or do {
    print STDERR "devlane: the container is not running\n";
    exit 126;
};
my $pid = <$fh>;
close($fh);
chomp $pid;
# With a terminal (kubectl exec -it), the command gets its own session with that terminal as its
# controlling one, as a kubelet's runtime does; otherwise shells print "no job control".
# -w: setsid forks when already a group leader, and kwok must wait for the real command.
my @session = -t STDIN ? ('/usr/bin/setsid', '-w', '-c') : ();
exec('/usr/bin/nsenter', '--target', $pid, '--mount', '--uts', '--net', '--pid', '--root', '--wd', '--', @session, $cmd, @ARGV)
    or do { print STDERR "devlane: nsenter: $!\n"; exit 126 };
