#!/bin/sh
# A further glance-api node (controller2 and on). Started inside controller1's namespace and then
# unshared, so it begins with controller1's mounts: the same store filesystems and the same
# database, as two controllers sharing an NFS export do. It gets its own /etc (config can
# drift), /run, /tmp and /var/log/glance.
set -eu
STATE=$1
NODE=$2
ADDR=$3
hostname "$NODE"
mkdir -p "$STATE/ovl-$NODE/etc/upper" "$STATE/ovl-$NODE/etc/work"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$STATE/ovl-$NODE/etc/upper,workdir=$STATE/ovl-$NODE/etc/work" /etc
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=755 tmpfs /var/log/glance
chown glance:glance /var/log/glance
mkdir -p /run/sshd
grep -qw "$NODE" /etc/hosts || echo "$ADDR $NODE" >> /etc/hosts
echo $$ > "$STATE/run/ns-$NODE.pid"
exec /usr/sbin/sshd -D -e -f "$STATE/sshd_config-$NODE"
