#!/bin/sh
# First start on an empty data directory: initialise it and create the database and
# user the environment names; later starts (a restart, a reboot) find the data and only
# run the server.
set -eu
mkdir -p /run/mysqld
chown mysql:mysql /run/mysqld /var/lib/mysql
if [ ! -d /var/lib/mysql/mysql ]; then
    echo "mariadb-entrypoint: initialising /var/lib/mysql"
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db >/dev/null
    db=${MARIADB_DATABASE:-}
    user=${MARIADB_USER:-}
    pass=${MARIADB_PASSWORD:-}
    {
        echo "FLUSH PRIVILEGES;"
        [ -n "$db" ] && echo "CREATE DATABASE IF NOT EXISTS \`$db\`;"
        if [ -n "$user" ]; then
            echo "CREATE USER IF NOT EXISTS '$user'@'%' IDENTIFIED BY '$pass';"
            [ -n "$db" ] && echo "GRANT ALL ON \`$db\`.* TO '$user'@'%';"
        fi
    } | mariadbd --user=mysql --bootstrap --skip-networking >/dev/null
fi
exec "$@"
