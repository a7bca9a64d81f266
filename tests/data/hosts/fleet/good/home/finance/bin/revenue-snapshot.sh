#!/bin/bash
# cron is not your shell (lesson 14): load the environment first
source $HOME/.bashrc 2>/dev/null || true
curl -s -H "X-Shopify-Access-Token: $SHOPIFY_TOKEN" "https://shop.example.invalid/admin/api/orders.json" > /dev/null
