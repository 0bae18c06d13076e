"""The demo corpus: pages written for Yuliao (not copied from anywhere), Chinese and English,
with near-copies, a cross-script copy, junk and fake contact details, so every stage has work."""
from __future__ import annotations

ZH_PARK = [
    "我家附近的滨河公园在过去十年里变化很大。十年前，这里只是一片杂草丛生的空地，河岸上堆着废弃的建筑材料，晚上几乎没有人敢经过。",
    "后来，街道办事处召集居民开了好几次座谈会，大家对公园应该是什么样子提出了很多意见。老人们希望有能下棋、打太极的平地，年轻的父母希望有安全的儿童游乐区，跑步爱好者则希望沿着河岸修一条连续的步道。",
    "经过两年的施工，公园终于在一个春天对外开放。河岸被改造成缓坡草地，种上了本地的芦苇和菖蒲，既能净化水质，又给白鹭和野鸭提供了栖息的地方。步道全长三公里，每隔五百米设有饮水点和休息长椅。",
    "如今每天清晨，公园里都能看到练太极拳的老人、遛狗的上班族和背着书包赶路的学生。周末的时候，草地上铺满了野餐垫，孩子们在风里放风筝。有人说，一个好的公园不在于花了多少钱，而在于它是否真正属于住在附近的人。",
    "当然，公园也面临新的问题。夏天夜里广场舞的音乐声让临河的住户难以入睡，部分游客随手丢弃的垃圾也给清洁工人增加了负担。街道正在试行分时段音量管理，并在入口处增设了分类垃圾桶。",
]
ZH_PARK_COPY = ZH_PARK[:2] + [
    "经过两年的建设，公园终于在一个春天正式开放。河岸被改造成缓坡草地，种上了本地的芦苇和菖蒲，既能净化水质，又给白鹭和野鸭提供了栖息的地方。步道全长三公里，每隔五百米设有饮水点和休息长椅。",
] + ZH_PARK[3:] + ["（本文转载自社区公众号，如有侵权请联系删除。）"]

ZH_TEA = [
    "中国人饮茶的历史已经有上千年。唐代陆羽写成《茶经》，系统地记录了茶树的种植、茶叶的采摘和煎煮的方法，被后人称为茶圣。",
    "不同地区形成了各自的饮茶习惯。江南一带偏爱清淡的绿茶，讲究用八十度左右的水冲泡，以免烫伤嫩芽；福建和广东人喜欢功夫茶，小壶小杯，一泡接一泡，慢慢品味乌龙茶的回甘；而在西北，人们常在砖茶里加入奶和盐，熬成浓稠的奶茶，用来抵御寒冷。",
    "喝茶不仅是一种口味，也是一种待客之道。客人进门，主人先烫杯、洗茶，再把第一道茶汤倒掉，第二道才奉给客人。茶倒七分满，留下三分是情意。",
    "近年来，新式茶饮店在城市里迅速流行，年轻人把水果、奶盖和传统茶叶搭配在一起，创造出许多新口味。有人担心这会让传统茶文化失去味道，也有人认为，正是这些新的尝试让更多年轻人重新对茶产生了兴趣。",
]
# the same article in Traditional script (a cross-script duplicate for near-dedup)
ZH_TEA_HANT = [
    "中國人飲茶的歷史已經有上千年。唐代陸羽寫成《茶經》，系統地記錄了茶樹的種植、茶葉的採摘和煎煮的方法，被後人稱為茶聖。",
    "不同地區形成了各自的飲茶習慣。江南一帶偏愛清淡的綠茶，講究用八十度左右的水沖泡，以免燙傷嫩芽；福建和廣東人喜歡功夫茶，小壺小杯，一泡接一泡，慢慢品味烏龍茶的回甘；而在西北，人們常在磚茶裡加入奶和鹽，熬成濃稠的奶茶，用來抵禦寒冷。",
    "喝茶不僅是一種口味，也是一種待客之道。客人進門，主人先燙杯、洗茶，再把第一道茶湯倒掉，第二道才奉給客人。茶倒七分滿，留下三分是情意。",
    "近年來，新式茶飲店在城市裡迅速流行，年輕人把水果、奶蓋和傳統茶葉搭配在一起，創造出許多新口味。有人擔心這會讓傳統茶文化失去味道，也有人認為，正是這些新的嘗試讓更多年輕人重新對茶產生了興趣。",
]
ZH_CANAL = [
    "京杭大运河北起北京，南到杭州，全长一千七百多公里，是世界上开凿最早、规模最大的人工运河之一。它连接了海河、黄河、淮河、长江和钱塘江五大水系。",
    "隋朝时，为了把南方的粮食运到北方，朝廷征调大量民工开凿河道。此后的一千多年里，运河一直是南北交通的大动脉，漕船、商船往来不绝，沿岸兴起了扬州、淮安、临清等繁华的城市。",
    "运河不仅运送粮食和货物，也传播了文化。南方的戏曲、饮食和手工艺顺着运河北上，北方的风俗也随着商人南下。许多诗人在运河的船上写下了描写两岸风光的诗句。",
    "到了近代，铁路和公路兴起，运河的运输地位逐渐下降，一些河段甚至淤塞断流。二零一四年，大运河被列入世界文化遗产名录，沿线城市开始整治河道、修复古桥和码头，让这条古老的河流重新焕发生机。",
]
ZH_BAMBOO = [
    "竹子是生长最快的植物之一，有些品种在雨季一天就能长高将近一米。它虽然长得像树，却属于禾本科，和水稻、小麦是远亲。",
    "在中国南方，竹子几乎渗透到生活的每个角落。人们用竹子搭建房屋和脚手架，编织篮子、席子和斗笠，把嫩竹笋做成美味的菜肴。竹纤维还可以制成纸张和衣料。",
    "竹子在文化上也有特殊的地位。古人把梅、兰、竹、菊称为四君子，用竹子的挺拔和中空来比喻人的正直和谦虚。许多画家一生都在练习画竹，讲究胸有成竹，下笔一气呵成。",
    "由于生长迅速、可以持续采伐，竹子近年来被看作替代塑料和木材的环保材料。不过，专家也提醒，大面积单一种植竹林会降低森林的物种多样性，需要合理规划。",
]
ZH_LIBRARY = [
    "社区图书馆开在一栋老厂房的二楼，面积不大，却总是坐满了人。馆里有两万多册藏书，其中三分之一是儿童读物。",
    "每周六上午，志愿者会给孩子们讲绘本故事，有时还会带着他们用废纸板做手工。平日下午，退休的老人喜欢来这里看报纸、下象棋，放学后的中学生则在靠窗的长桌上写作业。",
    "图书馆还开设了成人夜校，教大家使用手机办理业务、识别网络诈骗。管理员说，来上课的多半是六十岁以上的老人，他们学得很认真，常常把每一个步骤都记在小本子上。",
    "如需预约活动，可发送邮件至 library.demo@example.com，或拨打联系电话 13800138000（仅工作日）。图书馆提醒读者，借阅的图书请在三十天内归还。",
]
ZH_NIGHT_MARKET = [
    "夜市是臺灣最有代表性的庶民文化之一。傍晚時分，攤販推著餐車陸續就位，燈泡一盞盞亮起，原本安靜的街道很快變得人聲鼎沸。",
    "逛夜市最重要的當然是吃。蚵仔煎、滷肉飯、鹽酥雞和珍珠奶茶幾乎是每個夜市都有的基本款，有些攤位一開就是幾十年，老闆從年輕做到頭髮花白，客人也從學生變成帶著孩子來的父母。",
    "除了小吃，夜市還有套圈圈、射氣球和撈金魚等遊戲攤，孩子們拿著剛贏來的玩偶，開心地跑來跑去。服飾和日用品的攤位價格便宜，常常可以討價還價。",
    "近年來，一些夜市開始推動減塑，鼓勵客人自備餐具，也有攤商改用可分解的紙盒。觀光客越來越多，夜市在保留傳統風味的同時，也在慢慢改變。",
]

EN_TIDES = [
    "Anyone who has spent a day at the seaside has watched the water creep up the beach and retreat again. These tides are driven mostly by the gravitational pull of the Moon, with a smaller contribution from the Sun.",
    "The Moon pulls hardest on the side of the Earth that faces it, raising a bulge of water there. A second bulge forms on the opposite side, where the Earth itself is pulled toward the Moon slightly more than the distant ocean is. As the planet turns beneath these two bulges, most coasts see two high tides and two low tides roughly every day.",
    "When the Sun and Moon line up, at new moon and full moon, their pulls add together and produce spring tides with an unusually large range. When they sit at right angles, during the quarter moons, the range shrinks and we get neap tides.",
    "The shape of the coastline matters as much as the astronomy. In a funnel-shaped bay the incoming water piles up, which is why some estuaries see a rise of more than ten metres while parts of the Mediterranean barely notice a change.",
]
EN_BREAD = [
    "Baking a loaf of bread at home needs only four ingredients: flour, water, salt and yeast. What turns them into bread is time, warmth and a little patience.",
    "Start by mixing the flour and water and letting the mixture rest for half an hour. During this rest the flour absorbs the water and gluten begins to form on its own, which makes kneading much easier. Then add the salt and yeast and knead until the dough feels smooth and springs back when you press it.",
    "Leave the dough covered in a warm place until it has roughly doubled in size. Shape it gently so you keep some of the gas inside, let it rise a second time, and bake it in a very hot oven. A tray of water on the bottom shelf creates steam and gives the crust its shine.",
    "The hardest part is waiting for the loaf to cool before cutting it. The inside is still cooking as it cools, and slicing it too early leaves the crumb gummy.",
]
EN_BREAD_COPY = [
    "Baking a loaf of bread at home needs only four ingredients: flour, water, salt and yeast. What turns them into bread is time, warmth and a little patience.",
    "Begin by mixing the flour and water and letting the mixture rest for half an hour. During this rest the flour absorbs the water and gluten begins to form on its own, which makes kneading much easier. Then add the salt and yeast and knead until the dough feels smooth and springs back when you press it.",
    "Leave the dough covered in a warm place until it has roughly doubled in size. Shape it gently so you keep some of the gas inside, let it rise a second time, and bake it in a very hot oven. A tray of water on the bottom shelf creates steam and gives the crust its shine.",
    "The hardest part is waiting for the loaf to cool before cutting it. The inside is still cooking as it cools, and slicing it too early leaves the crumb gummy.",
    "Share this recipe with your friends and subscribe to our newsletter for more.",
]
EN_LIGHTHOUSE = [
    "Before satellite navigation, sailors approaching a rocky coast at night depended on lighthouses. Each light had its own pattern of flashes, so a navigator who counted the seconds between them could tell exactly which headland lay ahead.",
    "Early lighthouses burned wood or coal in open braziers, which gave a weak and smoky light. The great improvement came in the nineteenth century with the Fresnel lens, a ring of glass prisms that gathered the light of a single lamp into a powerful beam visible for more than twenty miles.",
    "Keeping a light was lonely, demanding work. Keepers trimmed wicks, polished lenses and wound the clockwork that turned the lamp, often through storms that cut them off from the mainland for weeks.",
    "Today nearly every lighthouse is automated, and many have become museums or guest houses. Yet their lights still turn each night, because a working beam remains a useful backup when electronic systems fail.",
]
EN_BEES = [
    "A honeybee colony is a single working unit made of tens of thousands of individuals. The queen lays the eggs, the males exist only to mate, and the female workers do everything else.",
    "A worker's job changes as she ages. In her first days she cleans cells and feeds larvae; later she builds wax comb, guards the entrance and finally spends the last weeks of her life flying out to collect nectar and pollen.",
    "Foragers that find a rich patch of flowers return to the hive and perform a waggle dance. The angle of the dance tells the other bees the direction of the flowers relative to the Sun, and its length tells them how far away they are.",
    "Beekeepers have learned to work with these habits. A well-placed hive with clean water nearby and a variety of flowering plants through the season will usually stay healthy and productive for many years.",
]

JUNK_NAV = """<ul class="menu"><li><a href="/">首页</a></li><li><a href="/news">新闻</a></li><li><a href="/sports">体育</a></li>
<li><a href="/ent">娱乐</a></li><li><a href="/login">登录</a></li><li><a href="/reg">注册</a></li></ul>"""
JUNK_SPAM = ["特价 特价 特价 点击领取 点击领取 点击领取 免费 免费 免费 优惠券 优惠券 优惠券"] * 8
FR_PAGE = [
    "Le marché du samedi matin occupe toute la place de l'église. Les producteurs arrivent avant l'aube pour installer leurs étals de légumes, de fromages et de fleurs.",
    "Les habitants viennent autant pour discuter que pour faire leurs courses, et le café d'en face ne désemplit pas avant midi.",
]


def html_page(title: str, paragraphs: list[str], lang: str = "zh", boilerplate: bool = True) -> str:
    nav = ('<nav><a href="/">Home</a> | <a href="/about">About</a> | <a href="/contact">Contact</a></nav>'
           if boilerplate else "")
    footer = ('<footer><p>Copyright Demo Site. All rights reserved.</p><a href="/privacy">Privacy</a></footer>'
              if boilerplate else "")
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title></head>'
            f"<body>{nav}<article><h1>{title}</h1>\n{body}\n</article>{footer}</body></html>")


# (url, html) — the order is the WARC order
def pages() -> list[tuple[str, str]]:
    return [
        ("https://demo.example/zh/park", html_page("滨河公园的十年", ZH_PARK)),
        ("https://mirror.example/zh/park-copy", html_page("滨河公园的十年（转载）", ZH_PARK_COPY)),
        ("https://demo.example/zh/tea", html_page("茶与中国人", ZH_TEA)),
        ("https://demo.example.tw/zh-tw/tea", html_page("茶與中國人", ZH_TEA_HANT, "zh-TW")),
        ("https://baike.baidu.com/item/demo-canal", html_page("京杭大运河", ZH_CANAL)),
        ("https://demo.example/zh/bamboo", html_page("竹子", ZH_BAMBOO)),
        ("https://demo.example/zh/library", html_page("社区图书馆", ZH_LIBRARY)),
        ("https://demo.example.tw/zh-tw/night-market", html_page("夜市", ZH_NIGHT_MARKET, "zh-TW")),
        ("https://demo.example/en/tides", html_page("Why the sea has tides", EN_TIDES, "en")),
        ("https://demo.example/en/bread", html_page("Bread at home", EN_BREAD, "en")),
        ("https://copy.example/en/bread", html_page("Home bread", EN_BREAD_COPY, "en")),
        ("https://demo.example/en/lighthouses", html_page("Lighthouses", EN_LIGHTHOUSE, "en")),
        ("https://demo.example/en/bees", html_page("Inside a beehive", EN_BEES, "en")),
        ("https://demo.example/zh/nav", f"<html><head><title>导航</title></head><body>{JUNK_NAV}</body></html>"),
        ("https://spam.example/zh/deal", html_page("特价", JUNK_SPAM)),
        ("https://demo.example/fr/marche", html_page("Le marché", FR_PAGE, "fr")),
    ]


# documents already in text form (a JSONL input), e.g. Q&A
QA_DOCS = [
    {"id": "qa-0001", "source": "qa", "url": "https://qa.example/q/1",
     "text": "问：为什么秋天树叶会变黄？\n答：树叶里本来就含有黄色的类胡萝卜素，只是夏天被大量绿色的叶绿素遮住了。"
             "秋天气温下降、日照变短，树木停止制造叶绿素，原有的叶绿素逐渐分解，黄色便显露出来。"
             "有些树叶还会在秋天合成红色的花青素，所以枫叶会变红。落叶前，树木会把叶子里的养分回收到枝干中，"
             "为来年春天发芽做准备。这是植物适应寒冷季节的一种方式，也让秋天的山林变得五彩斑斓。"},
    {"id": "qa-0002", "source": "qa", "url": "https://qa.example/q/2",
     "text": "Q: Why does bread go stale?\nA: Staling is not mainly about drying out. As bread cools and sits, the "
             "starch molecules that were loosened by baking slowly pack back into ordered crystals, which makes the "
             "crumb firm and crumbly. That is why a stale slice softens again when you toast it: the heat undoes the "
             "crystals for a while. Keeping bread in the refrigerator speeds staling, while freezing stops it almost "
             "completely, so a sliced loaf kept in the freezer and toasted as needed tastes fresh for weeks."},
    {"source": "qa", "text": "太短"},
    {"note": "a record without text is rejected with a reason, not dropped"},
]
