#!/usr/bin/env python3
"""Writes Sources/BankSyncCategorizer/Resources/training.csv: the labeled rows the shipped
categorizer model is trained on. Written by the BankSync project: a curated list of merchants
and payment texts per category (names of businesses are facts) expanded into the descriptor
styles banks print (card-network, processor prefixes, store numbers, cities, European
remittance lines). Deterministic: the same script gives the same file.

    python3 scripts/generate_training.py > Sources/BankSyncCategorizer/Resources/training.csv
"""
import csv
import random
import sys

# category -> (names, typical amount range in major units, direction: -1 out / +1 in)
CATALOGUE = {
    "FOOD_AND_DRINK_COFFEE": (["Starbucks", "Dunkin", "Peets Coffee", "Tim Hortons", "Costa Coffee", "Caffe Nero", "Blue Bottle Coffee", "Philz Coffee", "Dutch Bros", "Coffee Bean", "Espresso House", "Black Sheep Coffee", "Joe and the Juice", "Intelligentsia", "La Colombe"], (3, 15), -1),
    "FOOD_AND_DRINK_FAST_FOOD": (["McDonalds", "Burger King", "Wendys", "Taco Bell", "Chipotle", "Subway", "KFC", "Chick-fil-A", "Five Guys", "Popeyes", "Shake Shack", "In-N-Out Burger", "Panda Express", "Dominos Pizza", "Pizza Hut", "Jack in the Box", "Sonic Drive-In", "Greggs", "Nandos", "Itsu"], (5, 35), -1),
    "FOOD_AND_DRINK_RESTAURANT": (["Olive Garden", "Cheesecake Factory", "Applebees", "Chilis Grill", "Red Lobster", "Texas Roadhouse", "Outback Steakhouse", "Harbor Grill", "Green Leaf Cafe", "Wagamama", "Pizza Express", "Dishoom", "Zizzi", "Bistro Central", "Osteria Roma", "Sushi House", "Thai Orchid", "Golden Dragon Restaurant", "Trattoria", "Steakhouse 55"], (18, 180), -1),
    "FOOD_AND_DRINK_GROCERIES": (["Safeway", "Kroger", "Whole Foods Market", "Trader Joes", "Costco Wholesale", "Aldi", "Lidl", "Publix", "Albertsons", "HEB", "Wegmans", "Sprouts Farmers Market", "Food Lion", "Tesco", "Sainsburys", "Asda", "Morrisons", "Waitrose", "Rewe", "Edeka", "Carrefour", "Albert Heijn", "Jumbo", "ICA Supermarket", "Coop", "Mercadona", "Instacart"], (15, 220), -1),
    "FOOD_AND_DRINK_BEER_WINE_AND_LIQUOR": (["Total Wine", "BevMo", "Copper Tap Bar", "The Anchor Pub", "Wine.com", "Majestic Wine", "Systembolaget", "Liquor Barn", "Brewdog Bar", "Irish Pub"], (10, 90), -1),
    "FOOD_AND_DRINK_VENDING_MACHINES": (["Canteen Vending", "Vending Machine", "Selecta Vending"], (1, 5), -1),
    "FOOD_AND_DRINK_OTHER_FOOD_AND_DRINK": (["DoorDash", "Uber Eats", "Grubhub", "Deliveroo", "Just Eat", "Wolt", "Postmates"], (12, 70), -1),
    "GENERAL_MERCHANDISE_ONLINE_MARKETPLACES": (["Amazon Marketplace", "Amazon.com", "eBay", "Etsy", "AliExpress", "Temu", "Shein", "Wish.com", "Zalando", "Bol.com"], (8, 250), -1),
    "GENERAL_MERCHANDISE_SUPERSTORES": (["Walmart", "Target", "Kmart", "Meijer", "Fred Meyer", "Walmart Supercenter", "Argos"], (10, 300), -1),
    "GENERAL_MERCHANDISE_CLOTHING_AND_ACCESSORIES": (["H&M", "Zara", "Uniqlo", "Gap", "Old Navy", "Nike", "Adidas", "Primark", "Macys", "Nordstrom", "TJ Maxx", "Ross Stores", "Foot Locker", "Next Retail", "Marks and Spencer"], (15, 250), -1),
    "GENERAL_MERCHANDISE_ELECTRONICS": (["Best Buy", "Apple Store", "Currys", "MediaMarkt", "Newegg", "B&H Photo", "Micro Center", "Elgiganten", "Fnac"], (20, 1500), -1),
    "GENERAL_MERCHANDISE_DEPARTMENT_STORES": (["Kohls", "JCPenney", "Dillards", "John Lewis", "Debenhams", "Galeries Lafayette", "El Corte Ingles"], (20, 300), -1),
    "GENERAL_MERCHANDISE_DISCOUNT_STORES": (["Dollar Tree", "Dollar General", "Family Dollar", "Five Below", "Poundland", "Action", "Big Lots"], (3, 60), -1),
    "GENERAL_MERCHANDISE_BOOKSTORES_AND_NEWSSTANDS": (["Barnes and Noble", "Waterstones", "Hudson News", "WH Smith", "Books-A-Million", "Thalia"], (6, 60), -1),
    "GENERAL_MERCHANDISE_GIFTS_AND_NOVELTIES": (["Hallmark", "Party City", "Spencer Gifts", "Card Factory"], (5, 60), -1),
    "GENERAL_MERCHANDISE_OFFICE_SUPPLIES": (["Staples", "Office Depot", "OfficeMax", "Viking Direct"], (5, 200), -1),
    "GENERAL_MERCHANDISE_PET_SUPPLIES": (["Petco", "PetSmart", "Chewy.com", "Pets at Home", "Fressnapf"], (10, 150), -1),
    "GENERAL_MERCHANDISE_SPORTING_GOODS": (["Dicks Sporting Goods", "REI", "Decathlon", "Academy Sports", "Sports Direct", "Intersport"], (15, 400), -1),
    "GENERAL_MERCHANDISE_TOBACCO_AND_VAPE": (["Smoke Shop", "Vape Shop", "Tobacco Outlet"], (8, 60), -1),
    "HOME_IMPROVEMENT_HARDWARE": (["Home Depot", "Lowes", "Ace Hardware", "Menards", "B&Q", "Screwfix", "Bauhaus", "Hornbach", "Obi Baumarkt", "True Value"], (8, 600), -1),
    "HOME_IMPROVEMENT_FURNITURE": (["IKEA", "Wayfair", "Ashley Furniture", "Pottery Barn", "West Elm", "Crate and Barrel", "Dunelm", "Jysk"], (20, 1500), -1),
    "HOME_IMPROVEMENT_REPAIR_AND_MAINTENANCE": (["Roto-Rooter", "Mr Handyman", "City Plumbing Repair", "Angi Home Services", "Electric Repair Co"], (80, 900), -1),
    "HOME_IMPROVEMENT_SECURITY": (["ADT Security", "SimpliSafe", "Ring Protect", "Verisure"], (15, 60), -1),
    "MEDICAL_PHARMACIES_AND_SUPPLEMENTS": (["CVS Pharmacy", "Walgreens", "Rite Aid", "Boots", "Superdrug", "Apotek Hjartat", "Lloyds Pharmacy", "GNC", "Holland and Barrett"], (5, 120), -1),
    "MEDICAL_PRIMARY_CARE": (["Kaiser Permanente", "One Medical", "City Medical Clinic", "Family Practice", "MinuteClinic", "Urgent Care"], (20, 300), -1),
    "MEDICAL_DENTAL_CARE": (["Aspen Dental", "Smile Dental Care", "Bright Smiles Dentistry", "Family Dental"], (50, 600), -1),
    "MEDICAL_EYE_CARE": (["LensCrafters", "Warby Parker", "Specsavers", "Visionworks", "1-800 Contacts"], (40, 400), -1),
    "MEDICAL_VETERINARY_SERVICES": (["Banfield Pet Hospital", "VCA Animal Hospital", "City Vet Clinic"], (50, 700), -1),
    "PERSONAL_CARE_GYMS_AND_FITNESS_CENTERS": (["Planet Fitness", "24 Hour Fitness", "Equinox", "LA Fitness", "Orangetheory", "Peloton", "PureGym", "The Gym Group", "SATS", "ClassPass", "Anytime Fitness"], (10, 200), -1),
    "PERSONAL_CARE_HAIR_AND_BEAUTY": (["Great Clips", "Supercuts", "Sephora", "Ulta Beauty", "Sport Clips", "Nail Salon", "Barber Shop", "Douglas Parfumerie"], (15, 150), -1),
    "PERSONAL_CARE_LAUNDRY_AND_DRY_CLEANING": (["Dry Cleaners", "Laundromat", "Rinse Laundry", "Wash Club"], (5, 50), -1),
    "ENTERTAINMENT_TV_AND_MOVIES": (["Netflix.com", "Hulu", "Disney Plus", "HBO Max", "Amazon Prime Video", "AMC Theatres", "Regal Cinemas", "Cinemark", "Odeon", "Vue Cinemas", "Paramount Plus", "Apple TV"], (6, 40), -1),
    "ENTERTAINMENT_MUSIC_AND_AUDIO": (["Spotify", "Apple Music", "Tidal", "Audible", "SoundCloud", "Deezer", "YouTube Music"], (5, 20), -1),
    "ENTERTAINMENT_VIDEO_GAMES": (["Steam Games", "PlayStation Network", "Xbox Live", "Nintendo eShop", "Epic Games", "GameStop", "Blizzard Entertainment", "Roblox"], (5, 80), -1),
    "ENTERTAINMENT_SPORTING_EVENTS_AMUSEMENT_PARKS_AND_MUSEUMS": (["Ticketmaster", "StubHub", "Six Flags", "Disneyland", "Museum of Modern Art", "Natural History Museum", "SeatGeek", "Legoland"], (15, 300), -1),
    "ENTERTAINMENT_CASINOS_AND_GAMBLING": (["DraftKings", "FanDuel", "Bet365", "Caesars Casino", "PokerStars", "William Hill", "Paddy Power"], (10, 200), -1),
    "TRANSPORTATION_GAS": (["Shell Oil", "Chevron", "Exxon", "Mobil", "BP", "Texaco", "Sunoco", "Valero", "Arco", "Marathon Petro", "Speedway", "Circle K", "Esso", "Aral", "Total Energies", "76 Gas"], (20, 95), -1),
    "TRANSPORTATION_TAXIS_AND_RIDE_SHARES": (["Uber Trip", "Lyft Ride", "Bolt.eu", "Free Now", "Yellow Cab", "Addison Lee", "Curb Taxi"], (6, 70), -1),
    "TRANSPORTATION_PUBLIC_TRANSIT": (["MTA NYC Transit", "BART Clipper", "TFL Travel", "Metro Transit", "SL Access", "Deutsche Bahn", "Trainline", "Amtrak", "Caltrain", "RATP", "NS Reizigers", "SEPTA"], (2, 120), -1),
    "TRANSPORTATION_PARKING": (["ParkMobile", "SpotHero", "City Parking", "NCP Car Park", "Impark", "ParkWhiz", "Q-Park"], (3, 45), -1),
    "TRANSPORTATION_TOLLS": (["E-ZPass", "FasTrak", "SunPass", "Toll Road", "Dartford Crossing"], (2, 40), -1),
    "TRANSPORTATION_BIKES_AND_SCOOTERS": (["Lime Scooter", "Bird Rides", "Citi Bike", "Santander Cycles", "Voi Scooter", "Tier Mobility"], (2, 20), -1),
    "TRAVEL_FLIGHTS": (["United Airlines", "Delta Air Lines", "American Airlines", "Southwest Airlines", "JetBlue", "Alaska Airlines", "British Airways", "Ryanair", "easyJet", "Lufthansa", "KLM", "Air France", "SAS Airlines", "Norwegian Air", "Wizz Air"], (60, 1200), -1),
    "TRAVEL_LODGING": (["Marriott", "Hilton Hotels", "Hyatt", "Holiday Inn", "Airbnb", "Booking.com", "Expedia Hotels", "Best Western", "Premier Inn", "Travelodge", "Hotels.com", "Scandic Hotels", "Motel 6"], (60, 900), -1),
    "TRAVEL_RENTAL_CARS": (["Hertz", "Avis", "Enterprise Rent-A-Car", "Budget Rent A Car", "Sixt", "National Car Rental", "Europcar", "Turo"], (40, 600), -1),
    "TRAVEL_OTHER_TRAVEL": (["Expedia", "Kayak", "Priceline", "TripAdvisor", "Viator", "GetYourGuide"], (20, 800), -1),
    "RENT_AND_UTILITIES_GAS_AND_ELECTRICITY": (["PG&E", "ConEdison", "Duke Energy", "Southern California Edison", "National Grid", "Xcel Energy", "British Gas", "Octopus Energy", "EDF Energy", "Vattenfall", "EON Energie", "Dominion Energy"], (30, 300), -1),
    "RENT_AND_UTILITIES_INTERNET_AND_CABLE": (["Comcast Xfinity", "Spectrum", "Cox Communications", "AT&T Internet", "Verizon Fios", "BT Broadband", "Virgin Media", "Sky Broadband", "Telia Bredband", "Google Fiber"], (30, 150), -1),
    "RENT_AND_UTILITIES_TELEPHONE": (["Verizon Wireless", "T-Mobile", "AT&T Wireless", "Mint Mobile", "Vodafone", "EE Limited", "O2 UK", "Three Mobile", "Telia Mobil", "Google Fi"], (15, 120), -1),
    "RENT_AND_UTILITIES_WATER": (["City Water Utility", "Thames Water", "American Water", "Water Department", "Anglian Water"], (20, 120), -1),
    "RENT_AND_UTILITIES_SEWAGE_AND_WASTE_MANAGEMENT": (["Waste Management", "Republic Services", "Recology", "City Sanitation"], (20, 90), -1),
    "RENT_AND_UTILITIES_RENT": (["Rent Payment", "Apartment Rent", "Zillow Rent", "Avail Rent", "Property Management Rent", "Cozy Rent", "Landlord Rent"], (600, 4000), -1),
    "GENERAL_SERVICES_INSURANCE": (["Geico", "State Farm", "Progressive Insurance", "Allstate", "Lemonade Insurance", "Liberty Mutual", "Aviva", "Admiral Insurance", "Direct Line", "Allianz", "If Skadeforsakring"], (20, 400), -1),
    "GENERAL_SERVICES_EDUCATION": (["Coursera", "Udemy", "Duolingo", "University Tuition", "Khan Academy", "Chegg", "Open University", "College Bookstore"], (10, 3000), -1),
    "GENERAL_SERVICES_CHILDCARE": (["KinderCare", "Bright Horizons", "Daycare Center", "Care.com", "Nursery School"], (100, 2000), -1),
    "GENERAL_SERVICES_POSTAGE_AND_SHIPPING": (["USPS", "UPS Store", "FedEx", "DHL Express", "Royal Mail", "PostNord", "Deutsche Post", "Hermes Parcel"], (3, 80), -1),
    "GENERAL_SERVICES_STORAGE": (["Public Storage", "Extra Space Storage", "CubeSmart", "Big Yellow Storage", "Shurgard"], (40, 300), -1),
    "GENERAL_SERVICES_AUTOMOTIVE": (["Jiffy Lube", "Midas", "Firestone Complete Auto", "Pep Boys", "AutoZone", "Halfords", "Kwik Fit", "Valvoline Instant Oil", "Car Wash"], (15, 900), -1),
    "GENERAL_SERVICES_ACCOUNTING_AND_FINANCIAL_PLANNING": (["TurboTax", "H&R Block", "QuickBooks", "Xero", "Quicken"], (15, 300), -1),
    "GENERAL_SERVICES_CONSULTING_AND_LEGAL": (["LegalZoom", "Law Offices", "Rocket Lawyer", "Notary Public"], (30, 1500), -1),
    "GENERAL_SERVICES_OTHER_GENERAL_SERVICES": (["Google Storage", "Dropbox", "iCloud Storage", "Microsoft 365", "Adobe Creative Cloud", "Zoom.us", "Slack", "GitHub", "1Password", "NordVPN", "Squarespace", "GoDaddy"], (2, 60), -1),
    "GOVERNMENT_AND_NON_PROFIT_DONATIONS": (["Red Cross", "UNICEF", "GoFundMe", "Wikimedia", "Doctors Without Borders", "Salvation Army", "Oxfam", "World Wildlife Fund", "Church Donation"], (5, 500), -1),
    "GOVERNMENT_AND_NON_PROFIT_GOVERNMENT_DEPARTMENTS_AND_AGENCIES": (["DMV", "US Passport Services", "City of San Francisco", "County Clerk", "DVLA", "HM Passport Office", "Transportstyrelsen"], (10, 300), -1),
    "GOVERNMENT_AND_NON_PROFIT_TAX_PAYMENT": (["IRS USATAXPYMT", "Franchise Tax Board", "HMRC", "State Tax Payment", "Skatteverket", "Finanzamt", "Property Tax"], (50, 5000), -1),
    "LOAN_PAYMENTS_MORTGAGE_PAYMENT": (["Wells Fargo Home Mortgage", "Rocket Mortgage", "Chase Mortgage", "Mr Cooper", "Quicken Loans", "Nationwide Mortgage", "Mortgage Payment"], (800, 4500), -1),
    "LOAN_PAYMENTS_STUDENT_LOAN_PAYMENT": (["Navient", "Nelnet", "Great Lakes", "Sallie Mae", "MOHELA", "Student Loans Company", "CSN Studielan"], (100, 900), -1),
    "LOAN_PAYMENTS_CAR_PAYMENT": (["Toyota Financial", "Honda Financial", "Ford Credit", "Ally Auto", "GM Financial", "Tesla Finance", "Santander Consumer Auto"], (200, 900), -1),
    "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT": (["Chase Credit Card Payment", "Amex Epayment", "Capital One Payment", "Citi Card Payment", "Discover Payment", "Barclaycard Payment", "Credit Card Autopay"], (50, 3000), -1),
    "LOAN_PAYMENTS_PERSONAL_LOAN_PAYMENT": (["SoFi Loan Payment", "LendingClub", "Upstart Loan", "Prosper Loan", "Klarna", "Affirm Payment", "Afterpay"], (30, 800), -1),
    "BANK_FEES_OVERDRAFT_FEES": (["Overdraft Fee", "Overdraft Item Fee", "NSF Fee", "Insufficient Funds Fee"], (25, 36), -1),
    "BANK_FEES_ATM_FEES": (["ATM Fee", "Non-Network ATM Fee", "ATM Withdrawal Fee", "Out of Network ATM Charge"], (2, 6), -1),
    "BANK_FEES_FOREIGN_TRANSACTION_FEES": (["Foreign Transaction Fee", "International Transaction Fee", "Non-Sterling Transaction Fee", "Currency Conversion Fee"], (1, 15), -1),
    "BANK_FEES_INTEREST_CHARGE": (["Interest Charge on Purchases", "Purchase Interest Charge", "Finance Charge", "Interest Charged"], (5, 120), -1),
    "BANK_FEES_OTHER_BANK_FEES": (["Monthly Service Fee", "Account Maintenance Fee", "Wire Transfer Fee", "Paper Statement Fee", "Card Replacement Fee"], (2, 35), -1),
    "TRANSFER_OUT_SAVINGS": (["Transfer to Savings", "Online Transfer to Sav", "Automatic Savings Transfer", "Round Up Savings", "Transfer to ISA"], (10, 2000), -1),
    "TRANSFER_OUT_INVESTMENT_AND_RETIREMENT_FUNDS": (["Vanguard Buy", "Fidelity Investments", "Charles Schwab", "Robinhood", "Betterment", "Wealthfront", "Coinbase", "Trading 212", "Avanza"], (25, 5000), -1),
    "TRANSFER_OUT_ACCOUNT_TRANSFER": (["Zelle Payment To", "Venmo Payment", "Cash App", "PayPal Transfer", "Wise Transfer", "Revolut Transfer", "Swish Betalning", "Transfer To Checking", "Wire Transfer Out"], (5, 2000), -1),
    "TRANSFER_OUT_WITHDRAWAL": (["ATM Withdrawal", "Cash Withdrawal", "ATM Cash", "Branch Withdrawal", "Uttag Bankomat"], (20, 500), -1),
    "TRANSFER_IN_ACCOUNT_TRANSFER": (["Zelle Payment From", "Venmo Cashout", "Transfer From Savings", "Online Transfer From", "Cash App Transfer", "Wise Received", "Swish Inbetalning"], (10, 3000), 1),
    "TRANSFER_IN_DEPOSIT": (["Mobile Deposit", "Check Deposit", "ATM Deposit", "Cash Deposit", "Branch Deposit"], (20, 3000), 1),
    "TRANSFER_IN_CASH_ADVANCES_AND_LOANS": (["Loan Disbursement", "Cash Advance", "Personal Loan Proceeds", "Earnin Advance", "Dave Advance"], (50, 5000), 1),
    "INCOME_WAGES": (["Payroll Direct Deposit", "ADP Payroll", "Gusto Payroll", "Paychex Payroll", "Salary", "Direct Dep Payroll", "Workday Payroll", "Lon Salary", "Gehalt"], (800, 9000), 1),
    "INCOME_INTEREST_EARNED": (["Interest Payment", "Interest Paid", "Savings Interest", "Credit Interest", "Dividend Interest Earned"], (0, 80), 1),
    "INCOME_DIVIDENDS": (["Dividend Payment", "Qualified Dividend", "Vanguard Dividend", "Ordinary Dividend"], (1, 500), 1),
    "INCOME_TAX_REFUND": (["IRS Treas 310 Tax Ref", "State Tax Refund", "HMRC Tax Refund", "Skatteaterbaring"], (50, 3000), 1),
    "INCOME_UNEMPLOYMENT": (["Unemployment Benefits", "EDD UI Payment", "Jobseekers Allowance", "State UI Benefits"], (100, 900), 1),
    "INCOME_RETIREMENT_PENSION": (["Social Security SSA", "Pension Payment", "State Pension", "Retirement Annuity"], (300, 4000), 1),
    "INCOME_OTHER_INCOME": (["Stripe Payout", "Etsy Deposit", "Uber Driver Payout", "DoorDash Dasher Pay", "Shopify Payout", "Upwork Payment", "Refund Credit"], (20, 3000), 1),
}

CITIES = ["SAN FRANCISCO CA", "OAKLAND CA", "NEW YORK NY", "BROOKLYN NY", "AUSTIN TX", "HOUSTON TX", "SEATTLE WA", "CHICAGO IL",
          "DENVER CO", "BOSTON MA", "MIAMI FL", "PORTLAND OR", "ATLANTA GA", "PHOENIX AZ", "LONDON", "MANCHESTER", "BERLIN",
          "STOCKHOLM", "AMSTERDAM", "PARIS", "MADRID", ""]
PREFIXES = ["", "", "", "POS DEBIT ", "POS PURCHASE ", "DEBIT CARD PURCHASE ", "CHECKCARD ", "SQ *", "TST* ", "PAYPAL *",
            "CARD PAYMENT TO ", "KARTENZAHLUNG ", "PURCHASE AUTHORIZED ON 03/14 ", "RECURRING PAYMENT ", "ACH DEBIT "]
IN_PREFIXES = ["", "", "ACH CREDIT ", "DIRECT DEP ", "DEPOSIT ", "CREDIT ", "FASTER PAYMENT FROM ", "GUTSCHRIFT "]


def descriptor(rng, name, direction):
    upper = name.upper()
    if direction > 0:
        text = rng.choice(IN_PREFIXES) + upper
        if rng.random() < 0.5:
            text += f" {rng.choice(['PPD', 'REF', 'ID'])} {rng.randint(10000, 99999999)}"
        return text
    text = rng.choice(PREFIXES) + upper
    roll = rng.random()
    if roll < 0.35:
        text += f" #{rng.randint(1, 9999)}"
    elif roll < 0.55:
        text += f" {rng.randint(100, 99999):05d}"
    if rng.random() < 0.6:
        text += " " + rng.choice(CITIES)
    if rng.random() < 0.1:
        text += f" {rng.randint(200, 999)}-{rng.randint(200, 999)}-{rng.randint(1000, 9999)}"
    return " ".join(text.split())


def main():
    rng = random.Random(20261126)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["description", "merchant", "amount", "category"])
    for category, (names, (low, high), direction) in CATALOGUE.items():
        for name in names:
            for variant in range(8):
                amount = round(rng.uniform(low, high), 2) * direction
                merchant = name if variant % 4 == 0 else ""
                out.writerow([descriptor(rng, name, direction), merchant, f"{amount:.2f}", category])


if __name__ == "__main__":
    main()
