/// A merchant the synthetic banks buy from, with the text each provider would show.
/// The catalogue is the sandbox's own: names of well-known chains are facts, the descriptor
/// strings and amounts are invented in the styles the providers document.
public struct Merchant: Sendable {
    public let name: String
    /// Plaid's legacy `name` (card-network style; `merchant_name` is the clean ``name``).
    public let plaidDescriptor: String
    /// Teller's raw `description` (US card descriptor).
    public let tellerDescriptor: String
    /// The stem of a European bank's remittance text.
    public let remittance: String
    public let pfcPrimary: String
    public let pfcDetailed: String
    /// Teller `details.category`.
    public let tellerCategory: String
    /// Typical spend in major units of the region's currency.
    public let low: Int
    public let high: Int
    /// Restaurants and bars: the pending amount grows by a tip when it posts.
    public let tipped: Bool
    public let region: Region
    public let website: String?

    public enum Region: Sendable { case us, europe }
}

extension Merchant {
    static func us(
        _ name: String, _ plaid: String, _ teller: String, _ primary: String, _ detailed: String, _ teller_category: String,
        _ low: Int, _ high: Int, tipped: Bool = false, website: String? = nil
    ) -> Merchant {
        Merchant(
            name: name, plaidDescriptor: plaid, tellerDescriptor: teller, remittance: name.uppercased(), pfcPrimary: primary,
            pfcDetailed: detailed, tellerCategory: teller_category, low: low, high: high, tipped: tipped, region: .us,
            website: website)
    }

    static func eu(_ name: String, _ remittance: String, _ primary: String, _ detailed: String, _ low: Int, _ high: Int, tipped: Bool = false)
        -> Merchant
    {
        Merchant(
            name: name, plaidDescriptor: remittance, tellerDescriptor: remittance, remittance: remittance, pfcPrimary: primary,
            pfcDetailed: detailed, tellerCategory: "general", low: low, high: high, tipped: tipped, region: .europe, website: nil)
    }

    /// Everyday card spending in the US (Plaid and Teller users).
    static let usSpending: [Merchant] = [
        .us("Blue Bottle Coffee", "SQ *BLUE BOTTLE", "SQ *BLUE BOTTLE COFFEE OAKLAND CA", "FOOD_AND_DRINK", "FOOD_AND_DRINK_COFFEE", "dining", 4, 9, website: "bluebottlecoffee.com"),
        .us("Starbucks", "STARBUCKS STORE 08812", "STARBUCKS STORE 08812 SEATTLE WA", "FOOD_AND_DRINK", "FOOD_AND_DRINK_COFFEE", "dining", 4, 12, website: "starbucks.com"),
        .us("Whole Foods Market", "WHOLEFDS MKT 10233", "WHOLEFDS MKT 10233 AUSTIN TX", "FOOD_AND_DRINK", "FOOD_AND_DRINK_GROCERIES", "groceries", 25, 160, website: "wholefoodsmarket.com"),
        .us("Trader Joe's", "TRADER JOE S #552", "TRADER JOE S #552 PORTLAND OR", "FOOD_AND_DRINK", "FOOD_AND_DRINK_GROCERIES", "groceries", 20, 110, website: "traderjoes.com"),
        .us("Safeway", "SAFEWAY #1711", "SAFEWAY #1711 DENVER CO", "FOOD_AND_DRINK", "FOOD_AND_DRINK_GROCERIES", "groceries", 15, 140, website: "safeway.com"),
        .us("Chipotle", "CHIPOTLE 2291", "CHIPOTLE 2291 CHICAGO IL", "FOOD_AND_DRINK", "FOOD_AND_DRINK_FAST_FOOD", "dining", 10, 28, website: "chipotle.com"),
        .us("Green Leaf Cafe", "TST* GREEN LEAF CAFE", "TST* GREEN LEAF CAFE BROOKLYN NY", "FOOD_AND_DRINK", "FOOD_AND_DRINK_RESTAURANT", "dining", 18, 75, tipped: true),
        .us("Harbor Grill", "TST* HARBOR GRILL", "TST* HARBOR GRILL BOSTON MA", "FOOD_AND_DRINK", "FOOD_AND_DRINK_RESTAURANT", "dining", 35, 140, tipped: true),
        .us("The Copper Tap", "COPPER TAP BAR", "SQ *THE COPPER TAP MINNEAPOLIS MN", "FOOD_AND_DRINK", "FOOD_AND_DRINK_BEER_WINE_AND_LIQUOR", "bar", 12, 60, tipped: true),
        .us("Shell", "SHELL OIL 57444", "SHELL OIL 57444 HOUSTON TX", "TRANSPORTATION", "TRANSPORTATION_GAS", "fuel", 30, 75, website: "shell.com"),
        .us("Chevron", "CHEVRON 0091234", "CHEVRON 0091234 SAN JOSE CA", "TRANSPORTATION", "TRANSPORTATION_GAS", "fuel", 30, 80, website: "chevron.com"),
        .us("Uber", "UBER *TRIP", "UBER *TRIP HELP.UBER.COM CA", "TRANSPORTATION", "TRANSPORTATION_TAXIS_AND_RIDE_SHARES", "transport", 9, 45, website: "uber.com"),
        .us("Lyft", "LYFT *RIDE", "LYFT *RIDE SAT 8AM LYFT.COM CA", "TRANSPORTATION", "TRANSPORTATION_TAXIS_AND_RIDE_SHARES", "transport", 8, 40, website: "lyft.com"),
        .us("Amazon", "AMZN Mktp US*2K4", "AMZN MKTP US*2K41L7 AMZN.COM/BILL WA", "GENERAL_MERCHANDISE", "GENERAL_MERCHANDISE_ONLINE_MARKETPLACES", "shopping", 8, 180, website: "amazon.com"),
        .us("Target", "TARGET 00021", "TARGET 00021 MINNEAPOLIS MN", "GENERAL_MERCHANDISE", "GENERAL_MERCHANDISE_SUPERSTORES", "shopping", 12, 160, website: "target.com"),
        .us("Best Buy", "BEST BUY 00012", "BEST BUY 00012 RICHFIELD MN", "GENERAL_MERCHANDISE", "GENERAL_MERCHANDISE_ELECTRONICS", "electronics", 25, 400, website: "bestbuy.com"),
        .us("CVS Pharmacy", "CVS/PHARMACY #0412", "CVS/PHARMACY #0412 PROVIDENCE RI", "MEDICAL", "MEDICAL_PHARMACIES_AND_SUPPLEMENTS", "health", 6, 60, website: "cvs.com"),
        .us("Home Depot", "THE HOME DEPOT #6612", "THE HOME DEPOT #6612 ATLANTA GA", "HOME_IMPROVEMENT", "HOME_IMPROVEMENT_HARDWARE", "home", 15, 250, website: "homedepot.com"),
        .us("AMC Theatres", "AMC 2210 ONLINE", "AMC 2210 ONLINE KANSAS CITY MO", "ENTERTAINMENT", "ENTERTAINMENT_TV_AND_MOVIES", "entertainment", 14, 45, website: "amctheatres.com"),
        .us("Delta Air Lines", "DELTA AIR 0062312", "DELTA AIR 0062312345 ATLANTA GA", "TRAVEL", "TRAVEL_FLIGHTS", "transportation", 120, 600, website: "delta.com"),
    ]

    /// Monthly bills in the US: (merchant, day of month).
    static let usBills: [(Merchant, Int)] = [
        (.us("Netflix", "NETFLIX.COM", "NETFLIX.COM NETFLIX.COM CA", "ENTERTAINMENT", "ENTERTAINMENT_TV_AND_MOVIES", "entertainment", 15, 23, website: "netflix.com"), 7),
        (.us("Spotify", "Spotify USA", "SPOTIFY USA 877-7781161 NY", "ENTERTAINMENT", "ENTERTAINMENT_MUSIC_AND_AUDIO", "entertainment", 11, 12, website: "spotify.com"), 12),
        (.us("Verizon Wireless", "VZWRLSS*APOCC VISB", "VZWRLSS*APOCC VISB 800-922-0204 FL", "RENT_AND_UTILITIES", "RENT_AND_UTILITIES_TELEPHONE", "phone", 60, 95, website: "verizon.com"), 18),
        (.us("Pacific Gas and Electric", "PGANDE WEB ONLINE", "PGANDE WEB ONLINE 800-743-5000 CA", "RENT_AND_UTILITIES", "RENT_AND_UTILITIES_GAS_AND_ELECTRICITY", "utilities", 70, 160, website: "pge.com"), 22),
        (.us("Planet Fitness", "PLANET FITNESS", "PLANET FITNESS 844-880-7180 NH", "PERSONAL_CARE", "PERSONAL_CARE_GYMS_AND_FITNESS_CENTERS", "sport", 25, 25, website: "planetfitness.com"), 3),
    ]

    /// Everyday card spending in Europe (GoCardless users).
    static let europeSpending: [Merchant] = [
        .eu("REWE", "REWE MARKT GMBH", "FOOD_AND_DRINK", "FOOD_AND_DRINK_GROCERIES", 12, 95),
        .eu("Lidl", "LIDL DIENSTLEISTUNG", "FOOD_AND_DRINK", "FOOD_AND_DRINK_GROCERIES", 8, 70),
        .eu("Albert Heijn", "ALBERT HEIJN 1432", "FOOD_AND_DRINK", "FOOD_AND_DRINK_GROCERIES", 9, 80),
        .eu("Tesco", "TESCO STORES 3301", "FOOD_AND_DRINK", "FOOD_AND_DRINK_GROCERIES", 10, 90),
        .eu("ICA", "ICA NARA STORGATAN", "FOOD_AND_DRINK", "FOOD_AND_DRINK_GROCERIES", 10, 90),
        .eu("Cafe Central", "CAFE CENTRAL", "FOOD_AND_DRINK", "FOOD_AND_DRINK_COFFEE", 3, 12),
        .eu("Pret A Manger", "PRET A MANGER", "FOOD_AND_DRINK", "FOOD_AND_DRINK_FAST_FOOD", 5, 15),
        .eu("Trattoria Sole", "TRATTORIA SOLE", "FOOD_AND_DRINK", "FOOD_AND_DRINK_RESTAURANT", 25, 90, tipped: true),
        .eu("Deutsche Bahn", "DB VERTRIEB GMBH", "TRAVEL", "TRAVEL_OTHER_TRAVEL", 19, 140),
        .eu("Transport for London", "TFL TRAVEL CH", "TRANSPORTATION", "TRANSPORTATION_PUBLIC_TRANSIT", 3, 12),
        .eu("SL", "SL BILJETT", "TRANSPORTATION", "TRANSPORTATION_PUBLIC_TRANSIT", 4, 10),
        .eu("Zalando", "ZALANDO SE", "GENERAL_MERCHANDISE", "GENERAL_MERCHANDISE_CLOTHING_AND_ACCESSORIES", 25, 160),
        .eu("IKEA", "IKEA DEUTSCHLAND", "HOME_IMPROVEMENT", "HOME_IMPROVEMENT_FURNITURE", 15, 300),
        .eu("Boots", "BOOTS 1042", "MEDICAL", "MEDICAL_PHARMACIES_AND_SUPPLEMENTS", 4, 40),
    ]

    /// Monthly bills in Europe: (merchant, day of month).
    static let europeBills: [(Merchant, Int)] = [
        (.eu("Vodafone", "VODAFONE GMBH", "RENT_AND_UTILITIES", "RENT_AND_UTILITIES_TELEPHONE", 30, 45), 9),
        (.eu("Stadtwerke", "STADTWERKE STROM ABSCHLAG", "RENT_AND_UTILITIES", "RENT_AND_UTILITIES_GAS_AND_ELECTRICITY", 60, 110), 15),
        (.eu("Netflix", "NETFLIX INTERNATIONAL B.V.", "ENTERTAINMENT", "ENTERTAINMENT_TV_AND_MOVIES", 13, 18), 6),
        (.eu("Allianz", "ALLIANZ VERSICHERUNGS-AG", "GENERAL_SERVICES", "GENERAL_SERVICES_INSURANCE", 20, 60), 1),
    ]
}
