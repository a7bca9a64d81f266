#!/bin/bash
curl -s -H "Authorization: Bearer $QUICKBOOKS_TOKEN" "https://quickbooks.example.invalid/v3/company/42/reports/AgedReceivables" > /dev/null
