#!/bin/sh
# RABBITMQ_DEFAULT_USER / RABBITMQ_DEFAULT_PASS become the broker's first user (only used
# when its database is new), and the node listens on all addresses; then the server runs
# as the rabbitmq user.
set -eu
conf=/etc/rabbitmq/conf.d/10-minirun.conf
mkdir -p /etc/rabbitmq/conf.d
{
    echo "listeners.tcp.default = 5672"
    echo "loopback_users = none"
    [ -n "${RABBITMQ_DEFAULT_USER:-}" ] && echo "default_user = $RABBITMQ_DEFAULT_USER"
    [ -n "${RABBITMQ_DEFAULT_PASS:-}" ] && echo "default_pass = $RABBITMQ_DEFAULT_PASS"
} >"$conf"
chown -R rabbitmq:rabbitmq /var/lib/rabbitmq
exec setpriv --reuid rabbitmq --regid rabbitmq --init-groups env HOME=/var/lib/rabbitmq "$@"
