#!/bin/bash
curl -s -H "X-Shopify-Access-Token: $SHOPIFY_TOKEN" "https://shop.example.invalid/admin/api/orders.json" > /dev/null
