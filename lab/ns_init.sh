#!/bin/sh
# Runs as PID-holder of controller1's private mount namespace (started by
# lab/control.py through `unshare --mount --uts --propagation private`).
# Everything mounted here is visible only inside the namespace and vanishes
# when its last process exits: the machine's own /etc and /var stay untouched.
set -eu
STATE=$1
STORE_MB_FAST=$2
STORE_MB_SMALL=$3
VENV=$4

hostname controller1
for d in etc var usr/local; do
    mkdir -p "$STATE/ovl/$d/upper" "$STATE/ovl/$d/work"  # usr/local: the glance tools on PATH
    mount -t overlay overlay \
        -o "lowerdir=/$d,upperdir=$STATE/ovl/$d/upper,workdir=$STATE/ovl/$d/work" "/$d"
done
mount -t tmpfs -o mode=755 tmpfs /run
# /tmp stays the machine's: the checkout running the lab may live there (CI clones anywhere)
mkdir -p /run/sshd /var/lib/glance /var/log/glance /etc/glance
# the operator tools a packaged controller has on PATH
for tool in glance-manage glance-status; do ln -sf "$VENV/bin/$tool" "/usr/local/bin/$tool"; done
grep -q "controller1" /etc/hosts || echo "127.0.0.2 controller1" >> /etc/hosts

# Each store on its own small filesystem, so one can be filled on purpose.
mkdir -p /var/lib/glance/images /var/lib/glance/cheap /var/lib/glance/staging /var/lib/glance/tasks
mount -t tmpfs -o "size=${STORE_MB_FAST}m,mode=750" tmpfs /var/lib/glance/images
mount -t tmpfs -o "size=${STORE_MB_SMALL}m,mode=750" tmpfs /var/lib/glance/cheap
mount -t tmpfs -o "size=${STORE_MB_SMALL}m,mode=750" tmpfs /var/lib/glance/staging
mount -t tmpfs -o "size=${STORE_MB_SMALL}m,mode=750" tmpfs /var/lib/glance/tasks

getent group glance >/dev/null || groupadd --system glance
getent passwd glance >/dev/null || useradd --system --gid glance --home-dir /var/lib/glance \
    --shell /usr/sbin/nologin glance
getent group keystone >/dev/null || groupadd --system keystone
getent passwd keystone >/dev/null || useradd --system --gid keystone --home-dir /var/lib/keystone \
    --shell /usr/sbin/nologin keystone
getent passwd hcops >/dev/null || useradd --create-home --home-dir /var/lib/hcops \
    --shell /bin/sh hcops
usermod -p "*" hcops  # key login only: a "!" password would lock the account for sshd
# an operator without sudo, to see the suite skip what it cannot read
getent passwd hcview >/dev/null || useradd --create-home --home-dir /var/lib/hcview --shell /bin/sh hcview
usermod -p "*" hcview
chown glance:glance /var/lib/glance /var/lib/glance/images /var/lib/glance/cheap \
    /var/lib/glance/staging /var/lib/glance/tasks /var/log/glance

mkdir -p /etc/ssh/lab_authorized_keys /etc/sudoers.d
for u in hcops hcview; do
    cp "$STATE/ssh/id_ed25519.pub" "/etc/ssh/lab_authorized_keys/$u"
    chmod 644 "/etc/ssh/lab_authorized_keys/$u"
done
echo 'hcops ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/hcops
chmod 440 /etc/sudoers.d/hcops

echo $$ > "$STATE/run/ns.pid"
exec /usr/sbin/sshd -D -e -f "$STATE/sshd_config"
