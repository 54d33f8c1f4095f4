"""AP_PAYBILL packages as an integration sends them, built from seeded numbers (reference §7.2)."""

ORG = "100"
BILL_TYPE = "FKDLX04_SYS"
PURPOSE = "SFKYT10_SYS"
WIRE_TRANSFER = "JSFS04_SYS"
CASH = "JSFS01_SYS"
BANK_ACCOUNT = "YHZH001"
TRAVEL = "FYXM02_SYS"


def paybill(person, third_bill_no, amount=3480, cost=TRAVEL, settle=WIRE_TRANSFER, account=BANK_ACCOUNT,
            dept="BM000006"):
    staff = {"FNumber": person.job_number}
    entry = {"FSETTLETYPEID": {"FNumber": settle}, "FPURPOSEID": {"FNumber": PURPOSE},
             "FPAYTOTALAMOUNTFOR": amount, "FPAYAMOUNTFOR_E": amount, "FCOSTID": {"FNUMBER": cost},
             "FEXPENSEDEPTID_E": {"FNumber": dept}, "FOPPOSITEBANKACCOUNT": person.bank_account,
             "FOPPOSITECCOUNTNAME": person.name, "FOPPOSITEBANKNAME": person.bank_name, "FCOMMENT": "机票"}
    if account:
        entry["FACCOUNTID"] = {"FNumber": account}
    return {
        "FBillTypeID": {"FNUMBER": BILL_TYPE}, "FDATE": "2026-05-01", "FCONTACTUNITTYPE": "BD_Empinfo",
        "FCONTACTUNIT": staff, "FRECTUNITTYPE": "BD_Empinfo", "FRECTUNIT": {"FSTAFFNUMBER": person.job_number},
        "FCURRENCYID": {"FNumber": "PRE001"}, "FSETTLECUR": {"FNUMBER": "PRE001"},
        "FSETTLEMAINBOOKID": {"FNUMBER": "PRE001"}, "FPAYORGID": {"FNumber": ORG}, "FSETTLEORGID": {"FNumber": ORG},
        "FDepartment": {"FNumber": dept}, "FTHIRDBILLNO": third_bill_no, "FREMARK": f"差旅报销 {person.name}",
        "FPAYBILLENTRY": [entry],
    }
