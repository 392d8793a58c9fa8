/*
 * pp_emulate: posts with the shape and dirty-value mix of the original
 * Pinterest pipeline's data.
 *
 * Model. The real records tie a poster to one user and one location: every
 * post of "some poster" carries the same follower_count, the same user row
 * (names, age, date_joined) and the same latitude/longitude/country, while
 * title, category and post timestamp vary per post. About half the real
 * posts come from accounts that post once, the rest from a few accounts
 * that post a lot. So a key maps either to an account of a pool ranked by
 * popularity (log-uniform rank, i.e. Zipf-like) or to an account of its own.
 *
 * Determinism. Nothing here depends on call order except the key draw:
 * every record is built from a generator seeded with hash(seed, key, topic),
 * its account from hash(seed, account), and the malformed choice from a
 * separate hash, so a repeated key repeats its records byte for byte.
 *
 * Text tables hold JSON string contents already escaped (ASCII only, \uXXXX
 * for the rest): building a record is copying fragments, never escaping.
 * In the C source a JSON backslash is written "\\".
 */
#include "pp_emulate.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp_hmap.h"
#include "pp_time.h"

#define EMULATE_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Upper bound of one record; fragments are bounded so a record stays far
 * below it (the longest pin is about 1 KiB). */
#define EMULATE_RECORD_MAX 4096
#define EMULATE_FIELDS_MAX 16

/* Accounts that post repeatedly; ranks are drawn log-uniformly, so rank 0
 * gets 1/16 of the pool's posts. Keys outside the pool get an account of
 * their own, numbered after it. */
#define EMULATE_POOL_BITS 16
#define EMULATE_POOL_SIZE (UINT64_C(1) << EMULATE_POOL_BITS)
#define EMULATE_POOL_PERMILLE 450

/* Time spans (UTC epoch seconds) */
#define EMULATE_T_2014 INT64_C(1388534400)       /* 2014-01-01 */
#define EMULATE_T_2015 INT64_C(1420070400)       /* 2015-01-01 */
#define EMULATE_T_2018 INT64_C(1514764800)       /* 2018-01-01 */
#define EMULATE_T_2022 INT64_C(1640995200)       /* 2022-01-01 */
#define EMULATE_T_POST_FIRST INT64_C(1504224000) /* 2017-09-01 */
#define EMULATE_T_POST_END INT64_C(1677628800)   /* 2023-03-01 */

/* Salts keep the hash streams of different purposes apart. */
#define EMULATE_SALT_DRAW UINT64_C(0x6b65792d64726177)
#define EMULATE_SALT_POST UINT64_C(0x706f73742d616363)
#define EMULATE_SALT_ACCOUNT UINT64_C(0x6163636f756e7421)
#define EMULATE_SALT_POSTER UINT64_C(0x706f737465722121)
#define EMULATE_SALT_RECORD UINT64_C(0x7265636f72642d30)
#define EMULATE_SALT_BAD UINT64_C(0x6d616c666f726d64)

/* Field-template markers (octal, so a following letter is never absorbed
 * into the escape). */
#define M_SUBJ "\001"
#define M_ADJ "\002"
#define M_NUM "\003"
#define M_YEAR "\004"
#define M_SUBJ2 "\005"

enum emulate_marker {
    EMULATE_MARK_SUBJ = 1,
    EMULATE_MARK_ADJ = 2,
    EMULATE_MARK_NUM = 3,
    EMULATE_MARK_YEAR = 4,
    EMULATE_MARK_SUBJ2 = 5,
};

/* ---- vocabulary (JSON-escaped) ------------------------------------------ */

static const char *const emulate_categories[] = {
    "art",      "beauty",     "christmas",    "diy-and-crafts", "education", "event-planning",
    "finance",  "home-decor", "mens-fashion", "quotes",         "tattoos",   "travel",
    "vehicles",
};

#define EMULATE_CATEGORY_COUNT 13
#define EMULATE_SUBJECTS 16

static const char *const emulate_subjects[EMULATE_CATEGORY_COUNT][EMULATE_SUBJECTS] = {
    {"Watercolor Painting", "Pencil Drawing", "Abstract Art", "Acrylic Pouring",
     "Charcoal Sketches", "Still Life Painting", "Portrait Drawing", "Landscape Painting",
     "Ink Illustration", "Mixed Media Collage", "Oil Pastel Art", "Canvas Painting", "Doodle Art",
     "Zentangle Patterns", "Gouache Flowers", "Art Journaling"},
    {"Nail Art", "Makeup Looks", "Skin Care Routine", "Eyeliner Tutorial", "Braided Hairstyles",
     "Curly Hair Care", "Lip Color", "Natural Makeup", "Hair Color Ideas", "Face Masks",
     "Eyebrow Shaping", "Bridal Makeup", "Ombre Nails", "Short Haircuts", "Glowing Skin",
     "Smokey Eyes"},
    {"Christmas Decorations", "Christmas Tree Ideas", "Holiday Wreaths", "Christmas Cookies",
     "Advent Calendars", "Gift Wrapping", "Christmas Crafts", "Outdoor Christmas Lights",
     "Stocking Stuffers", "Gingerbread Houses", "Christmas Table Settings", "Holiday Mantel Decor",
     "Elf on the Shelf Ideas", "Christmas Ornaments", "Festive Cocktails",
     "No\\u00ebl Porch Decor"},
    {"Paper Crafts", "Mason Jar Crafts", "Macrame Wall Hangings", "Crochet Patterns",
     "Upcycled Furniture", "Kids Crafts", "Embroidery Designs", "Resin Art", "Felt Animals",
     "Pallet Projects", "Sewing Projects", "Cricut Projects", "Polymer Clay Earrings",
     "Candle Making", "Wood Burning", "Yarn Crafts"},
    {"Classroom Organization", "Math Worksheets", "Reading Comprehension", "Science Experiments",
     "Teaching Strategies", "Homeschool Schedules", "Phonics Activities", "Study Tips",
     "Bulletin Board Ideas", "Kindergarten Activities", "Spanish Vocabulary", "History Timelines",
     "Special Education Resources", "STEM Challenges", "Writing Prompts", "Classroom Management"},
    {"Wedding Planning", "Birthday Party Ideas", "Baby Shower Themes", "Party Decorations",
     "Wedding Centerpieces", "Graduation Party Ideas", "Bridal Shower Games", "Dessert Tables",
     "Party Favors", "Event Checklists", "Balloon Garlands", "Wedding Invitations", "Picnic Setups",
     "Gender Reveal Ideas", "Anniversary Ideas", "Pi\\u00f1ata Party"},
    {"Budgeting Tips", "Saving Money", "Debt Payoff Plans", "Side Hustles",
     "Investing for Beginners", "Frugal Living", "Passive Income", "Budget Binders",
     "Money Saving Challenges", "Retirement Planning", "Credit Score Tips",
     "Meal Planning on a Budget", "Financial Freedom", "Sinking Funds", "Stock Market Basics",
     "Personal Finance"},
    {"Living Room Decor", "Bedroom Ideas", "Kitchen Makeovers", "Bathroom Decor", "Farmhouse Style",
     "Boho Decor", "Gallery Walls", "Entryway Ideas", "Small Apartment Decor",
     "Scandinavian Interiors", "Cozy Reading Nooks", "Indoor Plants", "Modern Kitchens",
     "Laundry Room Ideas", "Accent Walls", "Home Office Setups"},
    {"Men's Outfits", "Casual Style for Men", "Streetwear", "Men's Haircuts", "Business Casual",
     "Denim Jackets", "Sneaker Collection", "Men's Watches", "Beard Styles",
     "Summer Outfits for Men", "Smart Casual", "Men's Suits", "Layering Tips",
     "Minimalist Wardrobe", "Leather Boots", "Vintage Menswear"},
    {"Inspirational Quotes", "Motivational Quotes", "Love Quotes", "Life Quotes", "Funny Quotes",
     "Friendship Quotes", "Self Love Quotes", "Positive Affirmations", "Quotes About Strength",
     "Wisdom Quotes", "Morning Motivation", "Relationship Quotes", "Success Quotes",
     "Quotes to Live By", "Mindset Quotes", "Short Quotes"},
    {"Small Tattoos", "Minimalist Tattoos", "Sleeve Tattoos", "Flower Tattoos", "Finger Tattoos",
     "Tattoo Designs", "Matching Tattoos", "Fine Line Tattoos", "Script Tattoos", "Wrist Tattoos",
     "Geometric Tattoos", "Back Tattoos", "Watercolor Tattoos", "Snake Tattoos",
     "Tattoo Ideas for Women", "Tatuajes Peque\\u00f1os"},
    {"Travel Destinations", "Beach Vacations", "Road Trip Ideas", "Travel Packing Lists",
     "Europe Travel", "Hidden Gems", "Budget Travel", "Travel Photography", "Bucket List Trips",
     "Island Getaways", "City Breaks", "Backpacking Routes", "Mountain Hikes", "Travel Hacks",
     "Weekend Getaways", "Z\\u00fcrich Old Town"},
    {"Classic Cars", "Muscle Cars", "Sports Cars", "Motorcycles", "Off Road Trucks", "Camper Vans",
     "Car Interior Ideas", "Vintage Trucks", "Electric Cars", "Car Detailing", "Jeep Wrangler Mods",
     "Van Life", "Custom Bikes", "Luxury Cars", "Car Restoration", "Race Cars"},
};

static const char *const emulate_adjectives[] = {
    "Easy",
    "Beautiful",
    "Cozy",
    "Minimalist",
    "Stunning",
    "Creative",
    "Simple",
    "Modern",
    "Vintage",
    "Rustic",
    "Bold",
    "Elegant",
    "Quick",
    "Budget-Friendly",
    "Cute",
    "Aesthetic",
    "Timeless",
    "Colorful",
    "Dreamy",
    "Unique",
    "Gorgeous",
    "Clever",
    "Fun",
    "Chic",
    "Classic",
    "Boho",
    "Scandinavian",
    "Magical",
    "Amazing",
    "Trendy",
    "Genius",
    "Affordable",
    "Little",
    "Quirky",
    "Fresh",
    "Caf\\u00e9-Style",
    "Gem\\u00fctlich",
    "Na\\u00efve",
    "Pretty",
    "Dark",
};

static const char *const emulate_title_patterns[] = {
    M_NUM " " M_ADJ " " M_SUBJ " Ideas",
    M_NUM " " M_SUBJ " Ideas You\\u2019ll Love",
    "How to Get Started With " M_SUBJ,
    M_SUBJ " for Beginners",
    "Easy " M_SUBJ " Tutorial",
    M_ADJ " " M_SUBJ,
    M_SUBJ,
    "The Best " M_SUBJ " of " M_YEAR,
    M_ADJ " " M_SUBJ " \\u2013 " M_NUM " Tips From the Pros",
    M_NUM " " M_ADJ " " M_SUBJ " To Try This Year",
    "DIY " M_SUBJ " (Step by Step)",
    M_SUBJ ": Everything You Need to Know",
    "\\\"" M_ADJ "\\\" " M_SUBJ " That Actually Work",
    "Why Everyone Is Talking About " M_SUBJ,
    "My " M_ADJ " " M_SUBJ " Journey",
    "Simple & " M_ADJ " " M_SUBJ,
    M_SUBJ " | " M_ADJ " Ideas",
    "What Nobody Tells You About " M_SUBJ,
    M_SUBJ " (" M_NUM " Ideas)",
    M_SUBJ " + " M_SUBJ2,
    M_ADJ " " M_SUBJ " and " M_SUBJ2 " Inspiration",
    "I Tried " M_SUBJ " for " M_NUM " Days \\u2013 Here\\u2019s What Happened",
    M_NUM " Ways to Style " M_SUBJ,
    M_SUBJ " Inspo \\u2728",
};

/* Whole titles in other scripts, as some posters write them. */
static const char *const emulate_foreign_titles[] = {
    "\\u0420\\u0438\\u0441\\u0443\\u043d\\u043a\\u0438 \\u043a\\u0430\\u0440\\u0430\\u043d"
    "\\u0434\\u0430\\u0448\\u043e\\u043c \\u0434\\u043b\\u044f \\u043d\\u0430\\u0447\\u0438"
    "\\u043d\\u0430\\u044e\\u0449\\u0438\\u0445",
    "\\u0418\\u0434\\u0435\\u0438 \\u0434\\u043b\\u044f \\u043c\\u0430\\u043d\\u0438\\u043a"
    "\\u044e\\u0440\\u0430",
    "\\u03a7\\u03c1\\u03b9\\u03c3\\u03c4\\u03bf\\u03c5\\u03b3\\u03b5\\u03bd\\u03bd\\u03b9"
    "\\u03ac\\u03c4\\u03b9\\u03ba\\u03b7 \\u03b4\\u03b9\\u03b1\\u03ba\\u03cc\\u03c3\\u03bc"
    "\\u03b7\\u03c3\\u03b7",
    "Ev dekorasyonu fikirleri i\\u00e7in ilham",
    "Ideias de decora\\u00e7\\u00e3o para sala",
    "\\u65e5\\u672c\\u306e\\u65c5\\u884c",
    "Cr\\u00e8me br\\u00fbl\\u00e9e nail art",
    "Krak\\u00f3w Street Style",
};

/* Emoji as Python's json.dumps writes them: astral ones as surrogate pairs. */
static const char *const emulate_emoji[] = {
    "\\ud83c\\udf42", "\\ud83c\\udf84", "\\u2728",        "\\ud83d\\udc84", "\\ud83c\\udfe1",
    "\\ud83d\\udcb0", "\\u2708\\ufe0f", "\\ud83d\\ude97", "\\ud83c\\udf38", "\\u2764\\ufe0f",
    "\\ud83d\\udd25", "\\ud83c\\udfa8", "\\ud83d\\udc8d", "\\ud83d\\udcda",
};

static const char *const emulate_sentences[] = {
    "Learn how to create " M_SUBJ " with this step-by-step tutorial.",
    "These " M_ADJ " " M_SUBJ " ideas are perfect for beginners and pros alike.",
    "Check out our favorite " M_SUBJ " of " M_YEAR "!",
    "Save this pin for later and follow for more " M_SUBJ ".",
    "I love how this turned out \\u2013 " M_SUBJ " has never been easier.",
    "Get inspired with " M_NUM " " M_ADJ " " M_SUBJ " you can try this weekend.",
    "Everything you need to know about " M_SUBJ ", from the basics to advanced tips.",
    "Click through for the full guide & free printable.",
    "A quick and " M_ADJ " way to upgrade your " M_SUBJ ".",
    "Our mission is to share " M_ADJ " " M_SUBJ " with everyone who loves them.",
    "Don\\u2019t miss these " M_ADJ " ideas for " M_SUBJ ".",
    "This post may contain affiliate links.",
    "Discover " M_NUM " " M_SUBJ " that will make you smile.",
    "We rounded up the most " M_ADJ " " M_SUBJ " on the internet.",
    "Perfect for anyone who wants to try " M_SUBJ " without spending a fortune.",
    "Find this and more " M_SUBJ " on our blog.",
    "\\u201cLess is more\\u201d \\u2013 a " M_ADJ " take on " M_SUBJ ".",
    "Tap the link to read the full story about " M_SUBJ ".",
    "Here are " M_NUM " reasons why " M_SUBJ " never goes out of style.",
    "From " M_SUBJ " to " M_SUBJ2 ", we have got you covered.",
    "It only takes " M_NUM " minutes!",
    "Tips, tricks and " M_ADJ " inspiration for " M_SUBJ ".",
    "Love it? Pin it!",
    "The \\\"" M_ADJ "\\\" look everyone asks about: " M_SUBJ ".",
    "Bookmark this list of " M_SUBJ " & " M_SUBJ2 " for your next project.",
    "Sign up for our newsletter to get weekly " M_SUBJ " straight to your inbox.",
    "Honestly the most " M_ADJ " thing I have made all year.",
    "Our readers voted these the best " M_SUBJ " of " M_YEAR ".",
    "Shop the look below.",
    "Which one is your favorite? Let me know in the comments.",
};

static const char *const emulate_tag_forms[] = {
    M_SUBJ " Ideas",       "Easy " M_SUBJ,      M_SUBJ " For Beginners", "Diy " M_SUBJ,
    M_SUBJ " Inspiration", M_SUBJ " Tutorials", "Cute " M_SUBJ,          "Simple " M_SUBJ,
    M_SUBJ " Aesthetic",   "Modern " M_SUBJ,    M_SUBJ " Tips",
};

static const char *const emulate_general_tags[] = {
    "Painting & Drawing", "Home Decor Ideas",     "Gift Ideas",         "Life Hacks",
    "Diy Projects",       "Small Business Ideas", "Self Care",          "Aesthetic Wallpaper",
    "Cute Crafts",        "Holiday Ideas",        "Weekend Projects",   "Color Palettes",
    "Before And After",   "Budget Ideas",         "Pinterest Inspired", "Things To Do",
    "Art Inspo",          "Summer Vibes",         "Fall Decor",         "Mood Board",
};

static const char *const emulate_first_names[] = {
    "Aaron",          "Abigail",     "Adam",        "Adrian",     "Aisha",       "Alan",
    "Albert",         "Alexandra",   "Alexis",      "Alice",      "Allison",     "Amanda",
    "Amber",          "Amy",         "Andrea",      "Andrew",     "Angela",      "Anna",
    "Anthony",        "April",       "Ashley",      "Austin",     "Barbara",     "Benjamin",
    "Beth",           "Bj\\u00f6rn", "Brandon",     "Brenda",     "Brian",       "Brittany",
    "Brooke",         "Bryan",       "Caleb",       "Cameron",    "Carl",        "Carlos",
    "Caroline",       "Catherine",   "Chad",        "Charles",    "Chelsea",     "Cheryl",
    "Christian",      "Christina",   "Christopher", "Cindy",      "Claire",      "Cody",
    "Colleen",        "Connor",      "Courtney",    "Crystal",    "Cynthia",     "Dale",
    "Daniel",         "Danielle",    "David",       "Dawn",       "Deborah",     "Denise",
    "Derek",          "Destiny",     "Diana",       "Diane",      "Donald",      "Donna",
    "Douglas",        "Dylan",       "Edward",      "Elizabeth",  "Emily",       "Emma",
    "Eric",           "Erica",       "Erin",        "Ethan",      "Evan",        "Frank",
    "Fran\\u00e7ois", "Gabriel",     "Gary",        "George",     "Gina",        "Grace",
    "Gregory",        "Hannah",      "Heather",     "Helen",      "Holly",       "Ian",
    "Isaac",          "Jack",        "Jacob",       "Jacqueline", "James",       "Jamie",
    "Janet",          "Jason",       "Jeffrey",     "Jennifer",   "Jeremy",      "Jessica",
    "Joanna",         "Joel",        "John",        "Jonathan",   "Jordan",      "Jos\\u00e9",
    "Joseph",         "Joshua",      "Julia",       "Julie",      "Justin",      "Karen",
    "Katherine",      "Kathleen",    "Kayla",       "Keith",      "Kelly",       "Kenneth",
    "Kevin",          "Kimberly",    "Kristen",     "Kyle",       "Laura",       "Lauren",
    "Leah",           "Linda",       "Lisa",        "Logan",      "Lori",        "Lucas",
    "Luis",           "Madison",     "Marcus",      "Margaret",   "Maria",       "Mark",
    "Martin",         "Mary",        "Matthew",     "Megan",      "Melissa",     "Michael",
    "Michelle",       "Miguel",      "Monica",      "Nancy",      "Natalie",     "Nathan",
    "Nicholas",       "Nicole",      "Noah",        "Olivia",     "Patricia",    "Patrick",
    "Paul",           "Peter",       "Rachel",      "Rebecca",    "Ren\\u00e9e", "Richard",
    "Robert",         "Ronald",      "Ryan",        "Samantha",   "Samuel",      "Sandra",
    "Sara",           "Scott",       "Sean",        "Shannon",    "Sharon",      "Stephanie",
    "Stephen",        "Steven",      "Susan",       "Tammy",      "Taylor",      "Teresa",
    "Thomas",         "Tiffany",     "Timothy",     "Tyler",      "Valerie",     "Vanessa",
    "Victoria",       "Vincent",     "Wanda",       "William",    "Zachary",     "Zo\\u00eb",
};

static const char *const emulate_last_names[] = {
    "Abbott",     "Acosta",    "Adams",       "Aguilar",   "Allen",     "Alvarado",     "Anderson",
    "Andrews",    "Armstrong", "Bailey",      "Baker",     "Banks",     "Barnes",       "Bell",
    "Bennett",    "Black",     "Blake",       "Bowman",    "Bradley",   "Brooks",       "Brown",
    "Bryant",     "Burke",     "Butler",      "Campbell",  "Carlson",   "Carpenter",    "Carter",
    "Castillo",   "Chapman",   "Chavez",      "Clark",     "Cole",      "Coleman",      "Collins",
    "Cook",       "Cooper",    "Cox",         "Crawford",  "Cruz",      "Cunningham",   "Daniels",
    "Davidson",   "Davis",     "Day",         "Dean",      "Diaz",      "Dixon",        "Douglas",
    "Duncan",     "Edwards",   "Elliott",     "Ellis",     "Evans",     "Ferguson",     "Fisher",
    "Fleming",    "Flores",    "Ford",        "Foster",    "Fox",       "Franklin",     "Freeman",
    "Garcia",     "Gardner",   "Gibson",      "Gomez",     "Gonzalez",  "Graham",       "Grant",
    "Gray",       "Green",     "Griffin",     "Hall",      "Hamilton",  "Hansen",       "Harper",
    "Harris",     "Hart",      "Hayes",       "Henderson", "Hernandez", "Hicks",        "Hill",
    "Hoffman",    "Holland",   "Howard",      "Hudson",    "Hughes",    "Hunt",         "Jackson",
    "James",      "Jenkins",   "Johnson",     "Jones",     "Jordan",    "Kelly",        "Kennedy",
    "Kim",        "King",      "Knight",      "Lambert",   "Lane",      "Lawson",       "Lee",
    "Lewis",      "Long",      "Lopez",       "Lynch",     "Marshall",  "Martin",       "Martinez",
    "Mason",      "Matthews",  "Meyer",       "Miller",    "Mills",     "Mitchell",     "Moore",
    "Morales",    "Morgan",    "Morris",      "Murphy",    "Murray",    "M\\u00fcller", "Nelson",
    "Nguyen",     "Nichols",   "Nu\\u00f1ez", "O'Brien",   "O'Connor",  "Oliver",       "Olson",
    "Ortiz",      "Owens",     "Palmer",      "Parker",    "Patel",     "Patterson",    "Payne",
    "Pe\\u00f1a", "Perez",     "Perry",       "Peters",    "Phillips",  "Pierce",       "Porter",
    "Powell",     "Price",     "Ramirez",     "Reed",      "Reyes",     "Reynolds",     "Rice",
    "Richards",   "Riley",     "Rivera",      "Roberts",   "Robinson",  "Rodriguez",    "Rogers",
    "Ross",       "Russell",   "Sanchez",     "Sanders",   "Schmidt",   "Scott",        "Shaw",
    "Simmons",    "Simpson",   "Smith",       "Spencer",   "Stanley",   "Stephens",     "Stewart",
    "Stone",      "Sullivan",  "Taylor",      "Thomas",    "Thompson",  "Torres",       "Tucker",
    "Turner",     "Vargas",    "Wagner",      "Walker",    "Wallace",   "Walsh",        "Ward",
    "Warren",     "Watson",    "Webb",        "Wells",     "West",      "White",        "Williams",
    "Wilson",     "Wood",      "Wright",      "Young",
};

/* The most popular accounts are brands; pool rank i < count uses brand i. */
static const char *const emulate_brands[] = {
    "The Spruce Nest",      "Bright Side Daily",
    "Paper & Twine Co.",    "Crafty Morning",
    "Glow Journal",         "Style Notes Weekly",
    "Money Mindful",        "Ink & Needle Collective",
    "Wander Often",         "Motor Heritage",
    "Quote Garden Daily",   "Teach Create Inspire",
    "Party Pop Studio",     "Tiny Home Tales",
    "The Frugal Fox",       "Hello Holiday Magazine",
    "Brush & Bloom",        "Lash Lab Beauty",
    "Road Ready",           "Classroom Corner",
    "Evergreen Interiors",  "Gentleman's Guide",
    "Words That Heal",      "Tattoo Atlas",
    "Wanderlust Weekly",    "Maker Mama",
    "The Budget Table",     "Studio Caf\\u00e9",
    "Festive Fox Shop",     "Chrome & Gasoline",
    "Petal Press",          "Little Learners Lab",
    "Daily Dose of Decor",  "The Well-Dressed Man",
    "Salt & Sail",          "Kindred Canvas",
    "Holiday Hearth",       "Bloom Beauty Co.",
    "The Savvy Saver",      "Ink Society",
    "Cozy Corners Home",    "Craft Club Kids",
    "Vintage Wheels Daily", "Celebrate Often",
    "Teacher Toolbox",      "Trail & Tide",
    "Modern Gent",          "Soulful Sayings",
    "Zez\\u00e8 Studio",    "Nomad Notes",
    "Glam & Glitter",       "Wreath & Ribbon",
    "The Art Room",         "Pocket Planner Co.",
    "Dream Decor Daily",    "Fine Line Society",
    "Open Road Journal",    "Happy Hands Crafts",
    "Event Edit",           "Inspire Daily",
};

static const char *const emulate_poster_nouns[] = {
    "Nest",   "Owl",    "Pine",    "Paper",   "Lantern", "Fox",     "Maple",  "Meadow",
    "Willow", "Harbor", "Clover",  "Sparrow", "Canvas",  "Cottage", "Garden", "Studio",
    "Thread", "Needle", "Ember",   "Honey",   "Saffron", "Cedar",   "Pebble", "Fern",
    "Sage",   "Aspen",  "Juniper", "Orchid",  "Tulip",   "Harvest", "Atlas",  "Compass",
    "Piston", "Chrome", "Ledger",  "Penny",   "Quill",   "Ribbon",  "Velvet", "Wool",
};

static const char *const emulate_poster_suffixes[] = {
    "Studio",     "Blog",  "Co.",     "Designs",   "Magazine", ".com",
    "Collective", "Daily", "Journal", "Creations", "Lab",      "Workshop",
    "Boutique",   "Life",  "Living",  "Shop",      "Academy",  "Official",
};

/* Country names in the style of Faker's list, with the characters that
 * trip up parsers and CSV writers: apostrophes, '&', parentheses, commas and
 * non-ASCII letters. */
static const char *const emulate_countries[] = {
    "Afghanistan",
    "\\u00c5land Islands",
    "Albania",
    "Algeria",
    "American Samoa",
    "Andorra",
    "Angola",
    "Anguilla",
    "Antarctica (the territory South of 60 deg S)",
    "Antigua and Barbuda",
    "Argentina",
    "Armenia",
    "Aruba",
    "Australia",
    "Austria",
    "Azerbaijan",
    "Bahamas",
    "Bahrain",
    "Bangladesh",
    "Barbados",
    "Belarus",
    "Belgium",
    "Belize",
    "Benin",
    "Bermuda",
    "Bhutan",
    "Bolivia",
    "Bonaire, Sint Eustatius and Saba",
    "Bosnia and Herzegovina",
    "Botswana",
    "Bouvet Island (Bouvetoya)",
    "Brazil",
    "British Indian Ocean Territory (Chagos Archipelago)",
    "British Virgin Islands",
    "Brunei Darussalam",
    "Bulgaria",
    "Burkina Faso",
    "Burundi",
    "Cambodia",
    "Cameroon",
    "Canada",
    "Cape Verde",
    "Cayman Islands",
    "Central African Republic",
    "Chad",
    "Chile",
    "China",
    "Christmas Island",
    "Cocos (Keeling) Islands",
    "Colombia",
    "Comoros",
    "Congo",
    "Cook Islands",
    "Costa Rica",
    "Cote d'Ivoire",
    "Croatia",
    "Cuba",
    "Cura\\u00e7ao",
    "Cyprus",
    "Czech Republic",
    "Denmark",
    "Djibouti",
    "Dominica",
    "Dominican Republic",
    "Ecuador",
    "Egypt",
    "El Salvador",
    "Equatorial Guinea",
    "Eritrea",
    "Estonia",
    "Ethiopia",
    "Falkland Islands (Malvinas)",
    "Faroe Islands",
    "Fiji",
    "Finland",
    "France",
    "French Guiana",
    "French Polynesia",
    "French Southern Territories",
    "Gabon",
    "Gambia",
    "Georgia",
    "Germany",
    "Ghana",
    "Gibraltar",
    "Greece",
    "Greenland",
    "Grenada",
    "Guadeloupe",
    "Guam",
    "Guatemala",
    "Guernsey",
    "Guinea",
    "Guinea-Bissau",
    "Guyana",
    "Haiti",
    "Heard Island and McDonald Islands",
    "Holy See (Vatican City State)",
    "Honduras",
    "Hong Kong",
    "Hungary",
    "Iceland",
    "India",
    "Indonesia",
    "Iran",
    "Iraq",
    "Ireland",
    "Isle of Man",
    "Israel",
    "Italy",
    "Jamaica",
    "Japan",
    "Jersey",
    "Jordan",
    "Kazakhstan",
    "Kenya",
    "Kiribati",
    "Korea",
    "Kuwait",
    "Kyrgyz Republic",
    "Lao People's Democratic Republic",
    "Latvia",
    "Lebanon",
    "Lesotho",
    "Liberia",
    "Libyan Arab Jamahiriya",
    "Liechtenstein",
    "Lithuania",
    "Luxembourg",
    "Macao",
    "Macedonia",
    "Madagascar",
    "Malawi",
    "Malaysia",
    "Maldives",
    "Mali",
    "Malta",
    "Marshall Islands",
    "Martinique",
    "Mauritania",
    "Mauritius",
    "Mayotte",
    "Mexico",
    "Micronesia",
    "Moldova",
    "Monaco",
    "Mongolia",
    "Montenegro",
    "Montserrat",
    "Morocco",
    "Mozambique",
    "Myanmar",
    "Namibia",
    "Nauru",
    "Nepal",
    "Netherlands",
    "Netherlands Antilles",
    "New Caledonia",
    "New Zealand",
    "Nicaragua",
    "Niger",
    "Nigeria",
    "Niue",
    "Norfolk Island",
    "Northern Mariana Islands",
    "Norway",
    "Oman",
    "Pakistan",
    "Palau",
    "Palestinian Territory",
    "Panama",
    "Papua New Guinea",
    "Paraguay",
    "Peru",
    "Philippines",
    "Pitcairn Islands",
    "Poland",
    "Portugal",
    "Puerto Rico",
    "Qatar",
    "R\\u00e9union",
    "Romania",
    "Russian Federation",
    "Rwanda",
    "Saint Barth\\u00e9lemy",
    "Saint Helena",
    "Saint Kitts and Nevis",
    "Saint Lucia",
    "Saint Martin",
    "Saint Pierre and Miquelon",
    "Saint Vincent and the Grenadines",
    "Samoa",
    "San Marino",
    "S\\u00e3o Tom\\u00e9 and Pr\\u00edncipe",
    "Saudi Arabia",
    "Senegal",
    "Serbia",
    "Seychelles",
    "Sierra Leone",
    "Singapore",
    "Slovakia (Slovak Republic)",
    "Slovenia",
    "Solomon Islands",
    "Somalia",
    "South Africa",
    "South Georgia and the South Sandwich Islands",
    "Spain",
    "Sri Lanka",
    "Sudan",
    "Suriname",
    "Svalbard & Jan Mayen Islands",
    "Swaziland",
    "Sweden",
    "Switzerland",
    "Syrian Arab Republic",
    "Taiwan",
    "Tajikistan",
    "Tanzania",
    "Thailand",
    "Timor-Leste",
    "Togo",
    "Tokelau",
    "Tonga",
    "Trinidad and Tobago",
    "Tunisia",
    "Turkey",
    "Turkmenistan",
    "Turks and Caicos Islands",
    "Tuvalu",
    "Uganda",
    "Ukraine",
    "United Arab Emirates",
    "United Kingdom",
    "United States Minor Outlying Islands",
    "United States Virgin Islands",
    "United States of America",
    "Uruguay",
    "Uzbekistan",
    "Vanuatu",
    "Venezuela",
    "Vietnam",
    "Wallis and Futuna",
    "Western Sahara",
    "Yemen",
    "Zambia",
    "Zimbabwe",
};

/* Zone suffixes a timestamp may carry, with their offset in minutes. */
static const struct {
    const char *text;
    int minutes;
} emulate_zones[] = {
    {"+01:00", 60},  {"+02:00", 120},  {"-05:00", -300}, {"-08:00", -480}, {"+05:30", 330},
    {"+09:00", 540}, {"-03:00", -180}, {"+00:00", 0},    {"+10:00", 600},  {"-04:00", -240},
    {"+08:00", 480}, {"+05:45", 345},  {"-09:30", -570}, {"+13:00", 780},
};

/* Unknown extra fields, which readers must ignore (some nest JSON). */
static const char *const emulate_extra_fields[] = {
    "\"source\": \"emulator\"",   "\"_ingest_version\": 2",
    "\"retry\": false",           "\"notes\": null",
    "\"labels\": [\"a\", \"b\"]", "\"meta\": {\"client\": \"python-requests/2.28.1\", \"ind\": 0}",
};

/* ---- pseudo-random numbers ---------------------------------------------- */

/* xoshiro256** seeded through splitmix64, as their authors recommend. */
struct emulate_rng {
    uint64_t s[4];
};

#define emulate_mix pp_hash_u64

static uint64_t emulate_hash(uint64_t seed, uint64_t value, uint64_t salt)
{
    return emulate_mix(emulate_mix(seed ^ salt) + value * UINT64_C(0x9e3779b97f4a7c15));
}

static void emulate_rng_seed(struct emulate_rng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++) {
        seed += UINT64_C(0x9e3779b97f4a7c15);
        rng->s[i] = emulate_mix(seed);
    }
}

static inline uint64_t emulate_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t emulate_rng_next(struct emulate_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = emulate_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = emulate_rotl(s[3], 45);
    return result;
}

/* [0, n) for small n; the bias of the multiply-shift is below 2^-32 * n. */
static uint32_t emulate_rng_below(struct emulate_rng *rng, uint32_t n)
{
    return (uint32_t)(((emulate_rng_next(rng) >> 32) * n) >> 32);
}

/* [lo, hi) for 64-bit spans, unbiased. */
static int64_t emulate_rng_range(struct emulate_rng *rng, int64_t lo, int64_t hi)
{
    uint64_t span = (uint64_t)(hi - lo);
    uint64_t limit = -span % span; /* values below it would bias the modulo */
    uint64_t x;

    do {
        x = emulate_rng_next(rng);
    } while (x < limit);
    return lo + (int64_t)(x % span);
}

/* True with probability per10k / 10000. */
static bool emulate_rng_chance(struct emulate_rng *rng, uint32_t per10k)
{
    return emulate_rng_below(rng, 10000) < per10k;
}

#define EMULATE_PICK(rng, table) ((table)[emulate_rng_below((rng), EMULATE_LEN(table))])

/* ---- record text -------------------------------------------------------- */

/* A record is built as a list of "name": value fields so that the key order
 * can be shuffled and a field dropped before it is assembled. */
struct emulate_rec {
    size_t len;
    size_t field_count;
    size_t field_start[EMULATE_FIELDS_MAX + 1];
    bool is_overflow;
    char text[EMULATE_RECORD_MAX];
};

static void emulate_put(struct emulate_rec *rec, const char *s, size_t n)
{
    if (n > sizeof rec->text - rec->len) {
        rec->is_overflow = true;
        return;
    }
    memcpy(rec->text + rec->len, s, n);
    rec->len += n;
}

static void emulate_puts(struct emulate_rec *rec, const char *s)
{
    emulate_put(rec, s, strlen(s));
}

static void emulate_putc(struct emulate_rec *rec, char c)
{
    emulate_put(rec, &c, 1);
}

static void emulate_put_uint(struct emulate_rec *rec, uint64_t v, int min_digits)
{
    char tmp[24];
    int n = 0;

    do {
        tmp[sizeof tmp - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0 || n < min_digits);
    emulate_put(rec, tmp + sizeof tmp - n, (size_t)n);
}

static void emulate_put_int(struct emulate_rec *rec, int64_t v)
{
    char tmp[PP_FMT_INT_MAX];

    emulate_put(rec, tmp, pp_fmt_int(tmp, v));
}

static void emulate_put_hex(struct emulate_rec *rec, uint64_t v, int digits)
{
    static const char hex[] = "0123456789abcdef";
    char tmp[16];

    assert(digits <= 16);
    for (int i = digits - 1; i >= 0; i--) {
        tmp[i] = hex[v & 15];
        v >>= 4;
    }
    emulate_put(rec, tmp, (size_t)digits);
}

/* A fixed-point number as Python's repr writes a float: trailing zeros
 * dropped, at least one fraction digit ("-88.8298", "12.0"). */
static void emulate_put_decimal(struct emulate_rec *rec, int64_t scaled, int scale_digits)
{
    uint64_t mag = scaled < 0 ? (uint64_t)0 - (uint64_t)scaled : (uint64_t)scaled;
    uint64_t unit = 1;
    uint64_t frac;
    int digits = scale_digits;

    for (int i = 0; i < scale_digits; i++)
        unit *= 10;
    if (scaled < 0)
        emulate_putc(rec, '-');
    emulate_put_uint(rec, mag / unit, 1);
    emulate_putc(rec, '.');
    frac = mag % unit;
    while (digits > 1 && frac % 10 == 0) {
        frac /= 10;
        digits--;
    }
    emulate_put_uint(rec, frac, digits);
}

static void emulate_field_begin(struct emulate_rec *rec, const char *name)
{
    assert(rec->field_count < EMULATE_FIELDS_MAX);
    rec->field_start[rec->field_count++] = rec->len;
    emulate_putc(rec, '"');
    emulate_puts(rec, name);
    emulate_put(rec, "\": ", 3);
}

static void emulate_field_str(struct emulate_rec *rec, const char *name, const char *value)
{
    emulate_field_begin(rec, name);
    emulate_putc(rec, '"');
    emulate_puts(rec, value);
    emulate_putc(rec, '"');
}

static void emulate_field_raw(struct emulate_rec *rec, const char *field)
{
    assert(rec->field_count < EMULATE_FIELDS_MAX);
    rec->field_start[rec->field_count++] = rec->len;
    emulate_puts(rec, field);
}

/* Expands a template: markers become a subject, adjective, number or year;
 * with is_nbsp the first space becomes a no-break space. */
static void emulate_put_template(struct emulate_rec *rec, struct emulate_rng *rng, const char *tpl,
                                 unsigned category, bool is_nbsp)
{
    const char *const *subjects = emulate_subjects[category];

    for (const char *p = tpl; *p != '\0'; p++) {
        switch (*p) {
        case EMULATE_MARK_SUBJ:
        case EMULATE_MARK_SUBJ2:
            emulate_puts(rec, subjects[emulate_rng_below(rng, EMULATE_SUBJECTS)]);
            break;
        case EMULATE_MARK_ADJ: emulate_puts(rec, EMULATE_PICK(rng, emulate_adjectives)); break;
        case EMULATE_MARK_NUM: emulate_put_uint(rec, 3 + emulate_rng_below(rng, 98), 1); break;
        case EMULATE_MARK_YEAR: emulate_put_uint(rec, 2017 + emulate_rng_below(rng, 7), 1); break;
        case ' ':
            if (is_nbsp) {
                emulate_puts(rec, "\\u00a0");
                is_nbsp = false;
                break;
            }
            emulate_putc(rec, ' ');
            break;
        default: emulate_putc(rec, *p); break;
        }
    }
}

/* ---- timestamps --------------------------------------------------------- */

/*
 * Writes an instant in one of SPEC 1's shapes: mostly "YYYY-MM-DD HH:MM:SS",
 * sometimes with 'T' or the "YYYY:MM:DD" date, a fraction, 'Z' or a zone
 * offset (the local time is shifted so the UTC instant is unchanged), and
 * rarely an impossible date or time that readers must turn into null.
 */
static void emulate_put_timestamp(struct emulate_rec *rec, struct emulate_rng *rng, int64_t utc)
{
    uint32_t shape = emulate_rng_below(rng, 1000);
    uint32_t suffix = emulate_rng_below(rng, 1000);
    bool has_fraction = emulate_rng_chance(rng, 600);
    bool is_impossible = emulate_rng_chance(rng, 20);
    int zone = -1;
    int64_t local = utc;
    int64_t days;
    int64_t secs;
    int year;
    int month;
    int day;
    int hour;
    char date_sep = '-';
    char time_sep = ' ';

    if (suffix >= 920) {
        zone = (int)emulate_rng_below(rng, EMULATE_LEN(emulate_zones));
        local += (int64_t)emulate_zones[zone].minutes * 60;
    }
    days = local / 86400;
    secs = local % 86400;
    pp_time_civil_from_days(days, &year, &month, &day);
    hour = (int)(secs / 3600);
    if (shape >= 950) {
        date_sep = ':';
    } else if (shape >= 880) {
        time_sep = 'T';
    }
    if (is_impossible) {
        switch (emulate_rng_below(rng, 5)) {
        case 0:
            month = 2;
            day = 30;
            break;
        case 1:
            month = 4;
            day = 31;
            break;
        case 2: month = 13; break;
        case 3: day = 0; break;
        default: hour = 24; break;
        }
    }
    emulate_put_uint(rec, (uint64_t)year, 4);
    emulate_putc(rec, date_sep);
    emulate_put_uint(rec, (uint64_t)month, 2);
    emulate_putc(rec, date_sep);
    emulate_put_uint(rec, (uint64_t)day, 2);
    emulate_putc(rec, time_sep);
    emulate_put_uint(rec, (uint64_t)hour, 2);
    emulate_putc(rec, ':');
    emulate_put_uint(rec, (uint64_t)(secs / 60 % 60), 2);
    emulate_putc(rec, ':');
    emulate_put_uint(rec, (uint64_t)(secs % 60), 2);
    if (has_fraction) {
        int digits = 1 + (int)emulate_rng_below(rng, 6);
        uint64_t unit = 1;

        for (int i = 0; i < digits; i++)
            unit *= 10;
        emulate_putc(rec, '.');
        emulate_put_uint(rec, emulate_rng_next(rng) % unit, digits);
    }
    if (zone >= 0)
        emulate_puts(rec, emulate_zones[zone].text);
    else if (suffix >= 850)
        emulate_putc(rec, 'Z');
}

/* ---- accounts ----------------------------------------------------------- */

struct emulate_account {
    uint64_t seed;     /* drives the poster name */
    uint64_t rank;     /* pool rank, or EMULATE_POOL_SIZE + key */
    unsigned category; /* the category it posts most */
    unsigned country;
    unsigned first_name;
    unsigned last_name;
    int age;
    int coord_digits; /* decimals of its latitude/longitude */
    int64_t latitude; /* scaled by 10^coord_digits */
    int64_t longitude;
    int64_t date_joined; /* UTC epoch seconds */
    char follower_count[16];
};

static void emulate_account_follower_count(struct emulate_account *acct, struct emulate_rng *rng,
                                           bool is_brand)
{
    char *out = acct->follower_count;
    uint32_t form = is_brand ? 500 + emulate_rng_below(rng, 500) : emulate_rng_below(rng, 1000);
    uint32_t value;
    uint32_t band;
    int n = 0;

    if (form < 180) {
        /* plain counts, spread over 1, 2 and 3 digits */
        static const uint32_t tops[3] = {10, 100, 1000};

        value = emulate_rng_below(rng, tops[emulate_rng_below(rng, 3)]);
        n = snprintf(out, sizeof acct->follower_count, "%u", value);
    } else if (form < 925) {
        band = emulate_rng_below(rng, 100);
        value = band < 45   ? 1 + emulate_rng_below(rng, 9)
                : band < 80 ? 10 + emulate_rng_below(rng, 90)
                            : 100 + emulate_rng_below(rng, 900);
        if (value < 100 && emulate_rng_chance(rng, 400))
            n = snprintf(out, sizeof acct->follower_count, "%u.%uk", value,
                         1 + emulate_rng_below(rng, 9));
        else
            n = snprintf(out, sizeof acct->follower_count, "%uk", value);
    } else {
        value = emulate_rng_chance(rng, 9000) ? 1 + emulate_rng_below(rng, 5)
                                              : 5 + emulate_rng_below(rng, 11);
        if (emulate_rng_chance(rng, 1000))
            n = snprintf(out, sizeof acct->follower_count, "%u.%uM", value,
                         1 + emulate_rng_below(rng, 9));
        else
            n = snprintf(out, sizeof acct->follower_count, "%uM", value);
    }
    assert(n > 0 && (size_t)n < sizeof acct->follower_count);
    (void)n;
}

/* The account that posts key ind: a pool rank drawn log-uniformly (so a few
 * accounts post a lot), or an account of its own. */
static void emulate_account_init(struct emulate_account *acct, uint64_t seed, int64_t ind)
{
    struct emulate_rng rng;
    uint32_t bits;
    uint32_t u;

    emulate_rng_seed(&rng, emulate_hash(seed, (uint64_t)ind, EMULATE_SALT_POST));
    if (emulate_rng_below(&rng, 1000) < EMULATE_POOL_PERMILLE) {
        bits = emulate_rng_below(&rng, EMULATE_POOL_BITS);
        acct->rank =
            (UINT64_C(1) << bits) - 1 + (emulate_rng_next(&rng) & ((UINT64_C(1) << bits) - 1));
    } else {
        acct->rank = EMULATE_POOL_SIZE + (uint64_t)ind;
    }

    acct->seed = emulate_hash(seed, acct->rank, EMULATE_SALT_ACCOUNT);
    emulate_rng_seed(&rng, acct->seed);
    acct->category = emulate_rng_below(&rng, EMULATE_CATEGORY_COUNT);
    /* Skewed towards the head of the list, as in the real data where the
     * first twenty countries hold a third of the posts. */
    u = emulate_rng_below(&rng, 65536);
    acct->country = (unsigned)((uint64_t)u * u * EMULATE_LEN(emulate_countries) >> 32);
    acct->first_name = emulate_rng_below(&rng, EMULATE_LEN(emulate_first_names));
    acct->last_name = emulate_rng_below(&rng, EMULATE_LEN(emulate_last_names));
    /* The real age groups: 44% 18-24, 29% 25-35, 20% 36-50, the rest older;
     * a few minors, who belong to no group. */
    u = emulate_rng_below(&rng, 1000);
    acct->age = u < 25    ? 13 + (int)emulate_rng_below(&rng, 5)
                : u < 455 ? 18 + (int)emulate_rng_below(&rng, 7)
                : u < 740 ? 25 + (int)emulate_rng_below(&rng, 11)
                : u < 935 ? 36 + (int)emulate_rng_below(&rng, 15)
                          : 51 + (int)emulate_rng_below(&rng, 20);
    u = emulate_rng_below(&rng, 100);
    acct->coord_digits = u < 85 ? 4 : u < 93 ? 3 : u < 98 ? 5 : 1 + (int)(u - 98);
    {
        int64_t unit = 1;

        for (int i = 0; i < acct->coord_digits; i++)
            unit *= 10;
        acct->latitude = emulate_rng_range(&rng, -90 * unit, 90 * unit + 1);
        acct->longitude = emulate_rng_range(&rng, -180 * unit, 180 * unit + 1);
    }
    if (emulate_rng_chance(&rng, 6000))
        acct->date_joined = emulate_rng_range(&rng, EMULATE_T_2015, EMULATE_T_2018);
    else
        acct->date_joined = emulate_rng_range(&rng, EMULATE_T_2014, EMULATE_T_2022);
    emulate_account_follower_count(acct, &rng, acct->rank < EMULATE_LEN(emulate_brands));
}

static void emulate_put_poster_name(struct emulate_rec *rec, const struct emulate_account *acct)
{
    struct emulate_rng rng;

    if (acct->rank < EMULATE_LEN(emulate_brands)) {
        emulate_puts(rec, emulate_brands[acct->rank]);
        return;
    }
    emulate_rng_seed(&rng, acct->seed ^ EMULATE_SALT_POSTER);
    switch (emulate_rng_below(&rng, 10)) {
    case 0:
    case 1:
    case 2:
        emulate_puts(rec, EMULATE_PICK(&rng, emulate_first_names));
        emulate_putc(rec, ' ');
        emulate_puts(rec, EMULATE_PICK(&rng, emulate_last_names));
        break;
    case 3:
        emulate_puts(rec, "The ");
        emulate_puts(rec, EMULATE_PICK(&rng, emulate_adjectives));
        emulate_putc(rec, ' ');
        emulate_puts(rec, EMULATE_PICK(&rng, emulate_poster_nouns));
        break;
    case 4:
    case 5:
        emulate_puts(rec, EMULATE_PICK(&rng, emulate_adjectives));
        emulate_putc(rec, ' ');
        emulate_puts(rec, EMULATE_PICK(&rng, emulate_poster_nouns));
        emulate_putc(rec, ' ');
        emulate_puts(rec, EMULATE_PICK(&rng, emulate_poster_suffixes));
        break;
    case 6:
        emulate_puts(rec, EMULATE_PICK(&rng, emulate_first_names));
        emulate_puts(rec, " | ");
        emulate_puts(rec, EMULATE_PICK(&rng, emulate_adjectives));
        emulate_putc(rec, ' ');
        emulate_puts(rec,
                     emulate_subjects[acct->category][emulate_rng_below(&rng, EMULATE_SUBJECTS)]);
        emulate_puts(rec, " Tutorials");
        break;
    case 7:
        emulate_puts(rec, EMULATE_PICK(&rng, emulate_poster_nouns));
        emulate_puts(rec, " & ");
        emulate_puts(rec, EMULATE_PICK(&rng, emulate_poster_nouns));
        break;
    default:
        emulate_puts(rec, EMULATE_PICK(&rng, emulate_first_names));
        emulate_putc(rec, ' ');
        emulate_puts(rec, EMULATE_PICK(&rng, emulate_last_names));
        emulate_putc(rec, ' ');
        emulate_puts(rec, EMULATE_PICK(&rng, emulate_poster_suffixes));
        break;
    }
}

/* ---- records ------------------------------------------------------------ */

enum emulate_key {
    EMULATE_KEY_INT,     /* 123 */
    EMULATE_KEY_STRING,  /* "123" */
    EMULATE_KEY_MISSING, /* no key field */
    EMULATE_KEY_WORD,    /* "abc" */
    EMULATE_KEY_FLOAT,   /* 123.5 */
};

enum emulate_bad {
    EMULATE_BAD_TRUNCATED,
    EMULATE_BAD_UTF8,
    EMULATE_BAD_ARRAY,
    EMULATE_BAD_MISSING_KEY,
    EMULATE_BAD_WORD_KEY,
    EMULATE_BAD_FLOAT_KEY,
    EMULATE_BAD_EMPTY,
    EMULATE_BAD_COUNT,
    EMULATE_BAD_NONE = EMULATE_BAD_COUNT,
};

static void emulate_field_key(struct emulate_rec *rec, const char *name, int64_t ind,
                              enum emulate_key key)
{
    switch (key) {
    case EMULATE_KEY_MISSING: return;
    case EMULATE_KEY_INT:
        emulate_field_begin(rec, name);
        emulate_put_int(rec, ind);
        return;
    case EMULATE_KEY_STRING:
        emulate_field_begin(rec, name);
        emulate_putc(rec, '"');
        emulate_put_int(rec, ind);
        emulate_putc(rec, '"');
        return;
    case EMULATE_KEY_WORD: emulate_field_str(rec, name, "abc"); return;
    case EMULATE_KEY_FLOAT:
        emulate_field_begin(rec, name);
        emulate_put_int(rec, ind);
        emulate_puts(rec, ".5");
        return;
    }
}

static void emulate_put_title(struct emulate_rec *rec, struct emulate_rng *rng, unsigned category)
{
    uint32_t u = emulate_rng_below(rng, 10000);
    bool is_nbsp = emulate_rng_chance(rng, 200);

    if (u < 100) {
        emulate_puts(rec, EMULATE_PICK(rng, emulate_foreign_titles));
        return;
    }
    if (u < 250) {
        const char *emoji = EMULATE_PICK(rng, emulate_emoji);

        emulate_puts(rec, emoji);
        emulate_put_template(rec, rng, EMULATE_PICK(rng, emulate_title_patterns), category,
                             is_nbsp);
        emulate_putc(rec, ' ');
        emulate_puts(rec, emoji);
        return;
    }
    emulate_put_template(rec, rng, EMULATE_PICK(rng, emulate_title_patterns), category, is_nbsp);
    if (u >= 7600) {
        emulate_puts(rec, u >= 8800 ? " | " : " \\u2013 ");
        emulate_put_template(rec, rng, EMULATE_PICK(rng, emulate_title_patterns), category, false);
    }
}

/* Descriptions are sentences; a long one is cut at a word boundary near 180
 * characters and ends with "\u2026\u00a0", as Pinterest truncates them. */
static void emulate_put_description(struct emulate_rec *rec, struct emulate_rng *rng,
                                    unsigned category)
{
    size_t start = rec->len;
    size_t target = emulate_rng_chance(rng, 2900) ? 400 : 20 + emulate_rng_below(rng, 150);
    size_t limit = 170 + emulate_rng_below(rng, 12);
    size_t cut;

    while (rec->len - start < target && rec->len - start < limit) {
        if (rec->len != start)
            emulate_putc(rec, ' ');
        emulate_put_template(rec, rng, EMULATE_PICK(rng, emulate_sentences), category, false);
    }
    if (rec->len - start <= limit) {
        /* a rare escaped backslash, inside a shrug */
        if (emulate_rng_chance(rng, 60))
            emulate_puts(rec, " \\u00af\\\\_(\\u30c4)_/\\u00af");
        return;
    }
    /* Cut at a space: escapes never contain one, so none is split. */
    cut = start + limit;
    while (cut > start && rec->text[cut] != ' ')
        cut--;
    while (cut > start && (rec->text[cut - 1] == ' ' || rec->text[cut - 1] == ','))
        cut--;
    rec->len = cut;
    emulate_puts(rec, "\\u2026\\u00a0");
}

static void emulate_put_tags(struct emulate_rec *rec, struct emulate_rng *rng, unsigned category)
{
    uint32_t count = emulate_rng_chance(rng, 9600) ? 9 : 3 + emulate_rng_below(rng, 10);

    for (uint32_t i = 0; i < count; i++) {
        if (i > 0)
            emulate_putc(rec, ',');
        uint32_t u = emulate_rng_below(rng, 100);

        /* Mostly bare subjects, which are as long as real tags (~16). */
        if (u < 10)
            emulate_puts(rec, EMULATE_PICK(rng, emulate_general_tags));
        else if (u < 75)
            emulate_puts(rec, emulate_subjects[category][emulate_rng_below(rng, EMULATE_SUBJECTS)]);
        else
            emulate_put_template(rec, rng, EMULATE_PICK(rng, emulate_tag_forms), category, false);
    }
}

static void emulate_put_image_src(struct emulate_rec *rec, struct emulate_rng *rng, bool is_video)
{
    uint64_t hi = emulate_rng_next(rng);
    uint64_t lo = emulate_rng_next(rng);
    uint32_t ext = emulate_rng_below(rng, 100);

    emulate_puts(rec, is_video ? "https://i.pinimg.com/videos/thumbnails/originals/"
                               : "https://i.pinimg.com/originals/");
    for (int i = 0; i < 3; i++) {
        emulate_put_hex(rec, hi >> (60 - 8 * i), 2);
        emulate_putc(rec, '/');
    }
    emulate_put_hex(rec, hi, 16);
    emulate_put_hex(rec, lo, 16);
    if (is_video)
        emulate_puts(rec, ".0000001.jpg");
    else
        emulate_puts(rec, ext < 90 ? ".jpg" : ext < 99 ? ".png" : ".gif");
}

static void emulate_put_uuid(struct emulate_rec *rec, struct emulate_rng *rng)
{
    uint64_t hi = emulate_rng_next(rng);
    uint64_t lo = emulate_rng_next(rng);

    /* version 4, variant 10xx */
    hi = (hi & ~UINT64_C(0xf000)) | UINT64_C(0x4000);
    lo = (lo & ~(UINT64_C(3) << 62)) | (UINT64_C(2) << 62);
    emulate_put_hex(rec, hi >> 32, 8);
    emulate_putc(rec, '-');
    emulate_put_hex(rec, hi >> 16, 4);
    emulate_putc(rec, '-');
    emulate_put_hex(rec, hi, 4);
    emulate_putc(rec, '-');
    emulate_put_hex(rec, lo >> 48, 4);
    emulate_putc(rec, '-');
    emulate_put_hex(rec, lo, 12);
}

enum emulate_media { EMULATE_MEDIA_IMAGE, EMULATE_MEDIA_VIDEO, EMULATE_MEDIA_STORY };

/*
 * Rates follow the real records: about 0.75% are failed scrapes carrying
 * every placeholder at once (story format, "User Info Error", no tags,
 * "Image src error."), 7% are story pages of which a third lost their image,
 * 3% videos, and "No description available" and the tag placeholder appear
 * alone in about 1.5% and 0.7% of posts.
 */
static void emulate_build_pin(struct emulate_rec *rec, struct emulate_rng *rng, int64_t ind,
                              enum emulate_key key, const struct emulate_account *acct)
{
    uint32_t kind = emulate_rng_below(rng, 10000);
    bool is_broken = kind < 75;
    enum emulate_media media = is_broken || kind < 700 ? EMULATE_MEDIA_STORY
                               : kind < 1000           ? EMULATE_MEDIA_VIDEO
                                                       : EMULATE_MEDIA_IMAGE;
    bool is_src_error =
        is_broken || (media == EMULATE_MEDIA_STORY && emulate_rng_chance(rng, 2700));
    unsigned category = emulate_rng_chance(rng, 5000)
                            ? acct->category
                            : emulate_rng_below(rng, EMULATE_CATEGORY_COUNT);
    uint32_t u;

    emulate_field_key(rec, "index", ind, key);

    emulate_field_begin(rec, "unique_id");
    emulate_putc(rec, '"');
    emulate_put_uuid(rec, rng);
    emulate_putc(rec, '"');

    emulate_field_begin(rec, "title");
    emulate_putc(rec, '"');
    u = emulate_rng_below(rng, 10000);
    if (is_broken || u < 10)
        emulate_puts(rec, "No Title Data Available");
    else if (u >= 20)
        emulate_put_title(rec, rng, category);
    emulate_putc(rec, '"');

    emulate_field_begin(rec, "description");
    emulate_putc(rec, '"');
    u = emulate_rng_below(rng, 10000);
    if (media == EMULATE_MEDIA_STORY)
        emulate_puts(rec, "No description available Story format");
    else if (u < 160)
        emulate_puts(rec, "No description available");
    else if (u >= 180)
        emulate_put_description(rec, rng, category);
    emulate_putc(rec, '"');

    emulate_field_begin(rec, "poster_name");
    emulate_putc(rec, '"');
    if (is_broken)
        emulate_puts(rec, "User Info Error");
    else if (!emulate_rng_chance(rng, 10))
        emulate_put_poster_name(rec, acct);
    emulate_putc(rec, '"');

    emulate_field_str(rec, "follower_count", is_broken ? "User Info Error" : acct->follower_count);

    emulate_field_begin(rec, "tag_list");
    emulate_putc(rec, '"');
    u = emulate_rng_below(rng, 10000);
    if (is_broken || u < 70)
        emulate_puts(rec, "N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e");
    else if (u >= 80)
        emulate_put_tags(rec, rng, category);
    emulate_putc(rec, '"');

    emulate_field_str(rec, "is_image_or_video",
                      media == EMULATE_MEDIA_STORY   ? "multi-video(story page format)"
                      : media == EMULATE_MEDIA_VIDEO ? "video"
                                                     : "image");

    emulate_field_begin(rec, "image_src");
    emulate_putc(rec, '"');
    if (is_src_error)
        emulate_puts(rec, "Image src error.");
    else
        emulate_put_image_src(rec, rng, media != EMULATE_MEDIA_IMAGE);
    emulate_putc(rec, '"');

    emulate_field_begin(rec, "downloaded");
    emulate_putc(rec, is_src_error ? '0' : '1');

    emulate_field_begin(rec, "save_location");
    emulate_puts(rec, "\"Local save in /data/");
    emulate_puts(rec, emulate_categories[category]);
    emulate_putc(rec, '"');

    emulate_field_str(rec, "category", emulate_categories[category]);
}

static void emulate_put_coordinate(struct emulate_rec *rec, struct emulate_rng *rng,
                                   const char *name, int64_t scaled, int digits)
{
    bool is_string = emulate_rng_chance(rng, 30);

    emulate_field_begin(rec, name);
    if (is_string)
        emulate_putc(rec, '"');
    emulate_put_decimal(rec, scaled, digits);
    if (is_string)
        emulate_putc(rec, '"');
}

static void emulate_build_geo(struct emulate_rec *rec, struct emulate_rng *rng, int64_t ind,
                              enum emulate_key key, const struct emulate_account *acct)
{
    emulate_field_key(rec, "ind", ind, key);
    emulate_field_begin(rec, "timestamp");
    emulate_putc(rec, '"');
    emulate_put_timestamp(rec, rng,
                          emulate_rng_range(rng, EMULATE_T_POST_FIRST, EMULATE_T_POST_END));
    emulate_putc(rec, '"');
    emulate_put_coordinate(rec, rng, "latitude", acct->latitude, acct->coord_digits);
    emulate_put_coordinate(rec, rng, "longitude", acct->longitude, acct->coord_digits);
    emulate_field_str(rec, "country",
                      emulate_rng_chance(rng, 10) ? "" : emulate_countries[acct->country]);
}

static void emulate_build_user(struct emulate_rec *rec, struct emulate_rng *rng, int64_t ind,
                               enum emulate_key key, const struct emulate_account *acct)
{
    emulate_field_key(rec, "ind", ind, key);
    emulate_field_str(rec, "first_name",
                      emulate_rng_chance(rng, 10) ? "" : emulate_first_names[acct->first_name]);
    emulate_field_str(rec, "last_name", emulate_last_names[acct->last_name]);
    emulate_field_begin(rec, "age");
    if (emulate_rng_chance(rng, 200)) {
        emulate_putc(rec, '"');
        emulate_put_int(rec, acct->age);
        emulate_putc(rec, '"');
    } else {
        emulate_put_int(rec, acct->age);
    }
    emulate_field_begin(rec, "date_joined");
    emulate_putc(rec, '"');
    emulate_put_timestamp(rec, rng, acct->date_joined);
    emulate_putc(rec, '"');
}

/* ---- assembly ----------------------------------------------------------- */

static enum emulate_bad emulate_bad_kind(const struct pp_emulate_options *opt, int64_t ind,
                                         enum pp_topic topic)
{
    uint64_t h;

    if (opt->malformed_permille == 0)
        return EMULATE_BAD_NONE;
    h = emulate_hash(opt->seed, (uint64_t)ind * PP_TOPIC_COUNT + (uint64_t)topic, EMULATE_SALT_BAD);
    if ((h >> 32) % 1000 >= opt->malformed_permille)
        return EMULATE_BAD_NONE;
    return (enum emulate_bad)((h & 0xffffffff) % EMULATE_BAD_COUNT);
}

/* Appends the record's fields to out as one JSON object, in their order or
 * shuffled, then applies the malformed transformation. */
static enum pp_err emulate_assemble(struct emulate_rec *rec, struct emulate_rng *rng,
                                    enum emulate_bad bad, struct pp_buf *out)
{
    size_t order[EMULATE_FIELDS_MAX];
    size_t n = rec->field_count;
    size_t start;
    size_t len;
    char *p;
    enum pp_err err;

    if (rec->is_overflow)
        return PP_ERR_INTERNAL;
    rec->field_start[n] = rec->len;
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    if (n > 1 && emulate_rng_chance(rng, 300)) {
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = emulate_rng_below(rng, (uint32_t)i + 1);
            size_t t = order[i];

            order[i] = order[j];
            order[j] = t;
        }
    }

    /* braces, separators, the array wrap and the inserted byte, plus pp_buf's
     * terminating NUL */
    err = pp_buf_reserve(out, rec->len + 2 * n + 8);
    if (err)
        return err;
    start = out->len;
    p = out->data + start;
    *p++ = '{';
    for (size_t i = 0; i < n; i++) {
        size_t f = order[i];
        size_t flen = rec->field_start[f + 1] - rec->field_start[f];

        if (i > 0) {
            *p++ = ',';
            *p++ = ' ';
        }
        memcpy(p, rec->text + rec->field_start[f], flen);
        p += flen;
    }
    *p++ = '}';
    len = (size_t)(p - (out->data + start));
    p = out->data + start;

    switch (bad) {
    case EMULATE_BAD_TRUNCATED:
        /* Any proper prefix of an object lacks its closing brace. */
        len = 1 + emulate_rng_below(rng, (uint32_t)(len - 1));
        break;
    case EMULATE_BAD_UTF8: {
        /* Inside the first string value: right after the first `": "`. */
        char *q = memmem(p, len, "\": \"", 4);

        assert(q != NULL);
        if (q != NULL) {
            q += 4;
            memmove(q + 1, q, len - (size_t)(q - p));
            *q = '\xff';
            len++;
        }
        break;
    }
    case EMULATE_BAD_ARRAY:
        memmove(p + 1, p, len);
        p[0] = '[';
        p[len + 1] = ']';
        len += 2;
        break;
    case EMULATE_BAD_EMPTY: len = 0; break;
    case EMULATE_BAD_MISSING_KEY:
    case EMULATE_BAD_WORD_KEY:
    case EMULATE_BAD_FLOAT_KEY:
    case EMULATE_BAD_NONE: break;
    }
    out->len = start + len;
    out->data[out->len] = '\0';
    return PP_OK;
}

struct pp_emulate {
    struct pp_emulate_options opt;
    struct emulate_rng draw; /* the key sequence */
    struct emulate_rec rec;  /* the record being built */
};

struct pp_emulate *pp_emulate_new(const struct pp_emulate_options *opt)
{
    struct pp_emulate *em;

    assert(opt->ind_space >= 1);
    assert(opt->malformed_permille <= 1000);
    em = malloc(sizeof *em);
    if (em == NULL)
        return NULL;
    em->opt = *opt;
    emulate_rng_seed(&em->draw, emulate_hash(opt->seed, 0, EMULATE_SALT_DRAW));
    return em;
}

void pp_emulate_destroy(struct pp_emulate *em)
{
    free(em);
}

enum pp_err pp_emulate_next(struct pp_emulate *em, int64_t *ind, struct pp_buf out[PP_TOPIC_COUNT])
{
    struct emulate_account acct;
    struct emulate_rec *rec = &em->rec;
    int64_t key = emulate_rng_range(&em->draw, 0, em->opt.ind_space);

    *ind = key;
    emulate_account_init(&acct, em->opt.seed, key);
    for (int t = 0; t < PP_TOPIC_COUNT; t++) {
        enum pp_topic topic = (enum pp_topic)t;
        enum emulate_bad bad = emulate_bad_kind(&em->opt, key, topic);
        struct emulate_rng rng;
        enum emulate_key key_form;
        enum pp_err err;

        emulate_rng_seed(&rng,
                         emulate_hash(em->opt.seed, (uint64_t)key * PP_TOPIC_COUNT + (uint64_t)t,
                                      EMULATE_SALT_RECORD));
        key_form = emulate_rng_chance(&rng, 200) ? EMULATE_KEY_STRING : EMULATE_KEY_INT;
        if (bad == EMULATE_BAD_MISSING_KEY)
            key_form = EMULATE_KEY_MISSING;
        else if (bad == EMULATE_BAD_WORD_KEY)
            key_form = EMULATE_KEY_WORD;
        else if (bad == EMULATE_BAD_FLOAT_KEY)
            key_form = EMULATE_KEY_FLOAT;

        rec->len = 0;
        rec->field_count = 0;
        rec->is_overflow = false;
        switch (topic) {
        case PP_TOPIC_PIN: emulate_build_pin(rec, &rng, key, key_form, &acct); break;
        case PP_TOPIC_GEO: emulate_build_geo(rec, &rng, key, key_form, &acct); break;
        case PP_TOPIC_USER: emulate_build_user(rec, &rng, key, key_form, &acct); break;
        }
        if (emulate_rng_chance(&rng, 100))
            emulate_field_raw(rec, EMULATE_PICK(&rng, emulate_extra_fields));
        err = emulate_assemble(rec, &rng, bad, &out[topic]);
        if (err)
            return err;
    }
    return PP_OK;
}

uint32_t pp_emulate_murmur2(const void *key, size_t len)
{
    /* The constants and the tail handling of Kafka's Java client, which
     * seeds with 0x9747b28c and mixes 4-byte little-endian blocks. */
    const uint32_t m = 0x5bd1e995;
    const unsigned char *p = key;
    uint32_t h = 0x9747b28cu ^ (uint32_t)len;
    size_t blocks = len / 4;

    for (size_t i = 0; i < blocks; i++, p += 4) {
        uint32_t k =
            (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;

        k *= m;
        k ^= k >> 24;
        k *= m;
        h *= m;
        h ^= k;
    }
    switch (len & 3) {
    case 3:
        h ^= (uint32_t)p[2] << 16;
        /* fall through */
    case 2:
        h ^= (uint32_t)p[1] << 8;
        /* fall through */
    case 1:
        h ^= (uint32_t)p[0];
        h *= m;
        break;
    default: break;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return h;
}

int32_t pp_emulate_partition(int64_t ind, int32_t partitions)
{
    char key[PP_FMT_INT_MAX];
    size_t len;

    assert(partitions >= 1);
    len = pp_fmt_int(key, ind);
    /* toPositive() masks the sign bit rather than taking abs() */
    return (int32_t)((pp_emulate_murmur2(key, len) & 0x7fffffffu) % (uint32_t)partitions);
}
