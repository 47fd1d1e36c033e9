#!/bin/sh
# Generate the demo dataset: clearly fake customer and service records under
# DIR (default /srv/piiwatch-demo).  Existing files are left alone.
set -eu
dir=${1:-/srv/piiwatch-demo}
mkdir -p "$dir/customers" "$dir/service-history"
for n in 1 2 3 4 5 6 7 8; do
	f="$dir/customers/customers-000$n.csv"
	[ -e "$f" ] && continue
	awk -v n="$n" 'BEGIN {
		print "customer_id,name,email,phone,vehicle,note"
		for (i = 1; i <= 500; i++) {
			id = (n - 1) * 500 + i
			printf "D%06d,Demo Customer %06d,demo%06d@example.invalid,000-0000-%04d,Demo Model %d,FAKE DATA\n", id, id, id, id % 10000, id % 7
		}
	}' >"$f"
done
for n in 1 2 3 4; do
	f="$dir/service-history/service-000$n.csv"
	[ -e "$f" ] && continue
	awk -v n="$n" 'BEGIN {
		print "order_id,customer_id,date,work,amount_yen"
		for (i = 1; i <= 800; i++)
			printf "S%06d,D%06d,2019-%02d-%02d,demo oil change,%d\n", (n - 1) * 800 + i, (i * 7) % 4000 + 1, i % 12 + 1, i % 28 + 1, 5000 + i
	}' >"$f"
done
f="$dir/customers/zz_vip_customers.csv"
[ -e "$f" ] || printf 'customer_id,name,note\nD999999,Honeytoken Record,FAKE DATA - nobody should open this file\n' >"$f"
chmod -R a+rX "$dir"
