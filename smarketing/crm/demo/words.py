"""Vocabulary of the generated B2B company: names, titles, countries, pages, content, sales talk.

Plain data, no logic. Weights are relative integers; the generator expands them into lookup tables.
"""

FIRST_NAMES = """
James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph Jessica
Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Sandra Mark Ashley Steven Emily Paul
Kimberly Andrew Donna Joshua Michelle Kevin Carol Brian Amanda George Melissa Timothy Deborah Ryan Stephanie Jacob
Rebecca Nicholas Laura Eric Helen Jonathan Sharon Justin Cynthia Brandon Kathleen Samuel Amy Benjamin Angela Gregory
Anna Alexander Ruth Patrick Brenda Frank Pamela Raymond Nicole Jack Katherine Dennis Samantha Jerry Christine Tyler
Emma Aaron Rachel Henry Olivia Adam Sophia Nathan Hannah Zachary Chloe Lukas Lena Jonas Leonie Felix Clara Maximilian
Marie Paul Mia Leon Lea Julien Camille Hugo Manon Louis Chloé Lucas Inès Sven Astrid Lars Ingrid Erik Freya Mateo
Lucía Javier Carmen Diego Sofía Pablo Elena Ana João Beatriz Rafael Mariana Aarav Priya Rohan Ananya Vikram Kavya
Arjun Neha Wei Mei Hiroshi Yuki Kenji Sakura Min-jun Seo-yeon Oluwaseun Chiamaka Kwame Amara Tariq Layla Omar Fatima
Siobhán Ciarán Aoife Niamh Declan Bram Sanne Daan Femke Thijs Noor Matteo Giulia Lorenzo Chiara Mateus Isabela
""".split()

LAST_NAMES = """
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson Anderson
Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young
Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter
Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers
Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez
Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez
Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch Richter Klein Wolf Schröder Neumann
Dubois Laurent Bernard Moreau Lefebvre Leroy Roux Fournier Girard Bonnet Lindqvist Andersson Johansson Karlsson
Nilsson Eriksson Larsson Jansen Visser Smit Bakker Janssen Bos Dekker García Fernández López Martín Sánchez Romero
Navarro Silva Santos Oliveira Souza Costa Pereira Sharma Gupta Singh Kumar Reddy Iyer Chen Wang Zhang Liu Tanaka
Suzuki Sato Watanabe Park Choi Okafor Adeyemi Mensah Owusu Haddad Khalil Rahman O'Brien O'Connor Byrne Walsh Ricci
Romano Bianchi Esposito Colombo Novak Horvat Kowalski Nowak Petrov Ivanova
""".split()

# name, fit score 0-100 (how well the persona matches the product's buyer)
TITLES = [
    ("CEO", 80, 3),
    ("Founder & CEO", 80, 2),
    ("COO", 70, 1),
    ("CMO", 95, 3),
    ("VP Marketing", 95, 5),
    ("Head of Marketing", 90, 5),
    ("Head of Growth", 85, 4),
    ("Director of Demand Generation", 90, 4),
    ("Marketing Operations Manager", 90, 5),
    ("Marketing Manager", 75, 8),
    ("Content Marketing Manager", 55, 4),
    ("Product Marketing Manager", 60, 4),
    ("Digital Marketing Specialist", 50, 5),
    ("Marketing Coordinator", 35, 4),
    ("CRO", 95, 2),
    ("VP Sales", 95, 4),
    ("Head of Sales", 90, 4),
    ("Sales Director", 85, 4),
    ("Sales Operations Manager", 90, 4),
    ("Revenue Operations Lead", 95, 3),
    ("Account Executive", 50, 6),
    ("Sales Development Representative", 40, 5),
    ("Customer Success Manager", 45, 4),
    ("CTO", 60, 2),
    ("IT Manager", 50, 3),
    ("Software Engineer", 20, 3),
    ("Operations Manager", 45, 3),
    ("Finance Director", 50, 2),
    ("Procurement Manager", 50, 2),
    ("Office Manager", 25, 2),
    ("Consultant", 30, 2),
    ("Student", 5, 1),
]

# Company names: compound brand words, invented words and family names, then a line-of-business word.
BRAND_HEADS = """
North Blue Bright Silver Red Iron Clear Swift Green Open True Deep High Summit Pioneer Apex Atlas Cedar Harbor Maple
Stone Sky Sun Star Oak Pine River Lake Ocean Cloud Quantum Nova Vertex Zenith Polar Alpine Golden Crystal Rapid Urban
Bold Prime Core Next Smart Wise Keen Fair Lumen Tidal Copper Cobalt Granite Amber Ember Falcon Raven Fox Wolf Bear
""".split()
BRAND_TAILS = """
wind peak stone field bridge path point wave light forge gate line spring view ridge works leaf shore crest hub
base mark scale stack grid loop mill yard haven fall rock vale bay wood port way craft sight beam flow
""".split()
SYLLABLES_A = "Zen Kor Vel Lum Tri Sol Ori Ax Nex Qua Ver Cal Mir Dyn Syn Tek Val Ar Bel Cor Ely Fen Gal Hel Ix".split()
SYLLABLES_B = "ta va ri no la me ro vi sa ne ca di lo mi ra ze".split()
SYLLABLES_C = "ra na tix on is ia ex us ar ly o go io ent era ix".split()

# line-of-business word, industry, weight
BUSINESS_WORDS = [
    ("Analytics", "Software", 6),
    ("Systems", "Software", 5),
    ("Software", "Software", 6),
    ("Cloud", "Software", 4),
    ("Labs", "Software", 4),
    ("Data", "Software", 3),
    ("AI", "Software", 3),
    ("Security", "Cybersecurity", 3),
    ("Networks", "Telecommunications", 2),
    ("Telecom", "Telecommunications", 1),
    ("Health", "Healthcare", 3),
    ("Medical", "Healthcare", 2),
    ("Bio", "Biotechnology", 2),
    ("Therapeutics", "Biotechnology", 1),
    ("Pharma", "Pharmaceuticals", 1),
    ("Logistics", "Logistics", 3),
    ("Freight", "Logistics", 1),
    ("Manufacturing", "Manufacturing", 3),
    ("Industries", "Manufacturing", 2),
    ("Robotics", "Manufacturing", 2),
    ("Engineering", "Engineering", 2),
    ("Energy", "Energy", 2),
    ("Solar", "Energy", 1),
    ("Capital", "Financial services", 2),
    ("Financial", "Financial services", 2),
    ("Payments", "Fintech", 2),
    ("Insurance", "Insurance", 1),
    ("Media", "Media", 2),
    ("Studios", "Media", 1),
    ("Consulting", "Professional services", 3),
    ("Partners", "Professional services", 2),
    ("Legal", "Legal services", 1),
    ("Retail", "Retail", 2),
    ("Commerce", "E-commerce", 2),
    ("Foods", "Food & beverage", 1),
    ("Brands", "Consumer goods", 1),
    ("Learning", "Education", 2),
    ("Academy", "Education", 1),
    ("Properties", "Real estate", 1),
    ("Travel", "Travel & hospitality", 1),
    ("Mobility", "Automotive", 1),
    ("Motors", "Automotive", 1),
    ("Digital", "Marketing & advertising", 2),
    ("Agency", "Marketing & advertising", 1),
    ("Construction", "Construction", 1),
    ("Aerospace", "Aerospace", 1),
]

# country, weight, top-level domains, phone format ("#" = random digit), legal suffixes
COUNTRIES = [
    ("United States", 40, ["com", "com", "io", "co", "ai"], "+1 ###-555-01##", ["Inc.", "LLC", "Corp.", ""]),
    ("United Kingdom", 12, ["co.uk", "com", "io"], "+44 20 7946 0###", ["Ltd", "PLC", ""]),
    ("Germany", 10, ["de", "com", "io"], "+49 30 ########", ["GmbH", "AG", ""]),
    ("Canada", 6, ["ca", "com"], "+1 ###-555-01##", ["Inc.", "Ltd", ""]),
    ("France", 5, ["fr", "com", "io"], "+33 1 ## ## ## ##", ["SAS", "SA", ""]),
    ("Netherlands", 4, ["nl", "com", "io"], "+31 20 ### ####", ["B.V.", ""]),
    ("Australia", 4, ["com.au", "com"], "+61 2 #### ####", ["Pty Ltd", ""]),
    ("Spain", 3, ["es", "com"], "+34 91 ### ## ##", ["S.L.", "S.A.", ""]),
    ("Sweden", 3, ["se", "com", "io"], "+46 8 ### ### ##", ["AB", ""]),
    ("India", 3, ["in", "com", "io"], "+91 22 #### ####", ["Pvt Ltd", ""]),
    ("Ireland", 2, ["ie", "com"], "+353 1 ### ####", ["Ltd", ""]),
    ("Singapore", 2, ["sg", "com", "io"], "+65 #### ####", ["Pte Ltd", ""]),
    ("Brazil", 2, ["com.br", "com"], "+55 11 ####-####", ["Ltda", ""]),
    ("Switzerland", 2, ["ch", "com"], "+41 44 ### ## ##", ["AG", "SA", ""]),
    ("Denmark", 2, ["dk", "com"], "+45 ## ## ## ##", ["ApS", "A/S", ""]),
]

PERSONAL_DOMAINS = ["gmail.com", "outlook.com", "yahoo.com", "proton.me", "icloud.com"]

# employees low, high, weight, deal size low, high (USD)
COMPANY_SIZES = [
    (2, 10, 14, 3_000, 8_000),
    (11, 50, 30, 6_000, 20_000),
    (51, 200, 28, 15_000, 50_000),
    (201, 1000, 17, 35_000, 120_000),
    (1001, 5000, 8, 80_000, 300_000),
    (5001, 40000, 3, 150_000, 600_000),
]

PAGES = [
    ("/", 10),
    ("/pricing", 12),
    ("/product", 6),
    ("/product/crm", 4),
    ("/product/email-marketing", 4),
    ("/product/automation", 4),
    ("/product/scheduling", 2),
    ("/product/analytics", 3),
    ("/customers", 3),
    ("/customers/case-studies/northwind", 2),
    ("/blog/lead-scoring-that-sales-trusts", 4),
    ("/blog/mql-to-sql-handoff-sla", 4),
    ("/blog/attribution-models-explained", 3),
    ("/blog/revops-kpis-that-matter", 3),
    ("/blog/migrating-from-hubspot", 2),
    ("/integrations", 3),
    ("/security", 2),
    ("/demo", 3),
    ("/about", 2),
    ("/careers", 1),
    ("/docs/getting-started", 3),
    ("/compare/hubspot", 3),
    ("/compare/salesforce", 2),
    ("/resources/alignment-report", 2),
]

CONTENT_TITLES = [
    "The State of Sales & Marketing Alignment report",
    "Guide: Lead scoring that sales trusts",
    "Template: a marketing-to-sales SLA",
    "Ebook: Multi-touch attribution without the math headache",
    "Checklist: Migrating your CRM in 30 days",
    "Case study: How Northwind doubled MQL-to-SQL conversion",
    "Whitepaper: The RevOps data model",
    "Playbook: Running the weekly alignment meeting",
]

WEBINAR_TOPICS = [
    "Closing the loop between marketing and sales",
    "Lead scoring that sales actually trusts",
    "From MQL to SQL in 24 hours",
    "Attribution models explained",
    "Building a RevOps dashboard both teams own",
    "Email deliverability that lasts",
    "Pipeline reviews that don't waste an hour",
    "Account-based marketing on a budget",
    "Routing leads fairly: round robin and rules",
    "Content that sales will actually use",
    "Forecasting from your funnel",
    "Customer marketing: turning users into advocates",
]

NEWSLETTER_TOPICS = [
    "five attribution myths",
    "the new pipeline board",
    "SLA reports for sales managers",
    "webinar recordings",
    "what 300 RevOps teams told us",
    "lead scoring tips",
    "better handoffs",
    "the product update",
    "our customer awards",
    "booking pages for teams",
    "the alignment meeting pack",
    "year in review",
]

EVENTS = [
    "RevOps Summit (booth)",
    "B2B Marketing Expo London",
    "SaaS Growth Conference",
    "Demand Gen Meetup Berlin",
    "Sales Leadership Forum",
]

FORMS_BY_CHANNEL = {
    "paid": ["Demo request", "Free trial signup", "Pricing inquiry"],
    "organic": ["Newsletter signup", "Contact sales", "Demo request"],
    "social": ["Newsletter signup", "Demo request"],
    "referral": ["Partner referral", "Contact sales"],
    "direct": ["Contact sales", "Demo request"],
    "content": ["Content download"],
    "webinar": ["Webinar registration"],
    "email": ["Demo request", "Content download"],
}

# (summary template, outcome, minutes low, high, weight) for calls a rep logs; {first} is the contact's first name
CALLS = [
    ("Call with {first}: left voicemail", "voicemail", 1, 2, 5),
    ("Call with {first}: no answer", "no_answer", 1, 1, 4),
    ("Discovery call with {first}", "connected", 15, 45, 4),
    ("Call with {first}: pricing questions", "connected", 10, 30, 3),
    ("Follow-up call with {first} on the proposal", "connected", 10, 40, 2),
    ("Call with {first}: asked to reconnect next quarter", "connected", 5, 15, 1),
    ("Check-in call with {first}", "connected", 10, 25, 2),
]

SALES_EMAILS = [
    "Following up on your demo request",
    "Quick question about your lead handoff",
    "Recap and next steps",
    "Case study you asked about",
    "Proposal and pricing",
    "Checking in",
    "Intro: how teams like yours align on KPIs",
    "Agenda for our call",
    "Security questionnaire answers",
    "Contract draft for review",
]

MEETINGS = [
    ("Product demo with {first}", 45),
    ("Discovery meeting with {first}", 30),
    ("Technical deep dive with {first}'s team", 60),
    ("Pricing and packaging review with {first}", 30),
    ("Quarterly business review with {first}", 60),
    ("Onboarding kickoff with {first}", 45),
]

NOTES = [
    "<p>Spoke with <strong>{first}</strong>: the marketing team hands over leads in spreadsheets today. "
    "Main pain is no shared view of follow-up.</p>",
    "<p>{first} wants attribution across paid and events before the budget review. Send the attribution guide.</p>",
    "<p>Champion is {first}. Procurement needs a security review; expect three to four weeks.</p>",
    "<p>{first} is comparing us with their current CRM. Key points: <em>price per seat</em>, "
    "email deliverability and migration help.</p>",
    "<p>Budget confirmed for next quarter. {first} will bring the Head of Sales to the next call.</p>",
]

TASKS = [
    ("call", "Call {first} about next steps"),
    ("email", "Send {first} the case study"),
    ("call", "Follow up with {first} on the demo"),
    ("todo", "Prepare proposal for {company}"),
    ("email", "Send pricing to {first}"),
    ("todo", "Check {company}'s security questionnaire"),
]

WON_REASONS = [
    "Best fit for marketing and sales on one system",
    "Attribution and joint KPIs",
    "Self-hosted: data stays in-house",
    "Price and migration help",
    "Strong champion in RevOps",
]

LOST_REASONS = [
    ("Lost to a competitor", 5),
    ("No budget this year", 4),
    ("No decision / went dark", 5),
    ("Timing: revisit next quarter", 3),
    ("Price too high", 3),
    ("Chose to build in-house", 1),
    ("Missing integration", 2),
]

PLANS = ["Starter plan", "Growth plan", "Professional plan", "Enterprise plan", "Platform expansion", "Pilot"]

# utm_source, utm_medium per channel (a campaign picks one pair)
UTM = {
    "email": [("newsletter", "email")],
    "paid": [("google", "cpc"), ("linkedin", "paid_social"), ("bing", "cpc"), ("capterra", "cpc")],
    "social": [("linkedin", "social"), ("twitter", "social"), ("youtube", "social")],
    "webinar": [("webinar", "email")],
    "event": [("event", "offline")],
    "content": [("syndication", "content"), ("blog", "content")],
    "organic": [("google", "organic")],
    "referral": [("partner", "referral")],
    "outreach": [("outbound", "sales")],
    "direct": [("", "")],
}
