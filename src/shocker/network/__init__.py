"""Container networking: bridge, addresses, veths, iptables, published ports."""
